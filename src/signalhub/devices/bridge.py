"""The EA bridge: a user's approved signals reach each of their devices once, and come back
as acknowledgements that tell the trader what their terminal did."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.devices.repository import EaDeliveryRepository
from signalhub.devices.schemas import AckIn, AckOut, EaSignal
from signalhub.devices.service import AuthenticatedDevice
from signalhub.errors import Conflict, NotFound
from signalhub.kit.bus import user_channel
from signalhub.kit.time import utcnow
from signalhub.models import Approval, EaDelivery, EaDeliveryStatus, Priority, Signal
from signalhub.outbox import service as outbox
from signalhub.signals.schemas import price_text

# Signals handed out by one poll; more wait for the next one.
POLL_BATCH = 50


class AckConflict(Conflict):
    code = "already_acked"
    # The refused ack is audited.
    commit_transaction = True


async def take(session: AsyncSession, device: AuthenticatedDevice, now: datetime) -> list[EaSignal]:
    """What this device has not taken yet, marked taken. Expired or cancelled signals are never
    handed out; a concurrent poll of the same device gets none of the same signals; a device
    on an account its trader unlinked gets nothing."""
    if not await accounts.device_takes_signals(session, device.id):
        return []
    repository = EaDeliveryRepository(session)
    rows = await repository.untaken(device.user_id, device.id, now, POLL_BATCH)
    taken = await repository.take([approval.id for approval, _ in rows], device.id, now)
    return [_ea_signal(approval, signal) for approval, signal in rows if approval.id in taken]


async def long_poll(
    database: Database,
    device: AuthenticatedDevice,
    wait_s: float,
    disconnected: Callable[[], Awaitable[None]],
) -> list[EaSignal]:
    """Answers at once when something is there, else waits up to `wait_s` for the user's
    live-update channel (an approval) and looks again. Holds no database connection while it
    waits, and stops as soon as the device hangs up (`disconnected` returns), so nothing is
    marked taken that nobody receives. The subscription opens before the first look, so an
    approval committed in between still wakes it; the bus only wakes, the database decides."""
    deadline = time.monotonic() + wait_s
    gone = asyncio.ensure_future(disconnected())
    try:
        async with database.bus.subscribe(user_channel(device.user_id)) as wake_ups:
            while not gone.done():
                async with database.transaction() as session:
                    signals = await take(session, device, utcnow())
                remaining = deadline - time.monotonic()
                if signals or remaining <= 0:
                    return signals
                woken = asyncio.ensure_future(wake_ups.get(within_s=remaining))
                await asyncio.wait({woken, gone}, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
            return []
    finally:
        gone.cancel()


def _ea_signal(approval: Approval, signal: Signal) -> EaSignal:
    return EaSignal(
        approval_id=approval.id,
        signal_id=signal.id,
        symbol=signal.symbol,
        side=signal.side,
        order_type=signal.order_type,
        entry_price=signal.entry_price,
        stop_loss=signal.stop_loss,
        take_profits=signal.take_profits,
        expires_at=signal.expires_at,
        expires_at_unix=int(signal.expires_at.timestamp()),
    )


async def ack(
    session: AsyncSession, device: AuthenticatedDevice, report: AckIn, now: datetime
) -> AckOut:
    """Idempotent per approval and device: the first ack wins and tells the trader; the same
    ack again answers the stored one; a different one is a 409."""
    repository = EaDeliveryRepository(session)
    found = await repository.approved_for_user(report.approval_id, device.user_id)
    if found is None:
        raise NotFound(
            "No approved signal of yours has this approval_id.", code="approval_not_found"
        )
    approval, signal, user = found
    # An ack of a signal this device never polled for still counts, once.
    await repository.take([approval.id], device.id, now)
    reported = EaDelivery(
        approval_id=approval.id,
        device_id=device.id,
        status=EaDeliveryStatus(report.status),
        acked_at=now,
        ticket=report.ticket,
        price=report.price,
        volume=report.volume,
        error=report.error,
    )
    first = await repository.record_ack(reported)
    stored = await repository.get(approval.id, device.id)
    assert stored is not None
    audit_data = {"approval_id": approval.id, "signal_id": signal.id, **_ack_facts(reported)}
    if first:
        await devices.audit_device(session, "device.ack", device, audit_data)
        await outbox.enqueue(
            session,
            user.telegram_id,
            execution_notice(signal, device.name, stored),
            priority=Priority.signal,
            kind="ea_execution",
            user_id=user.id,
        )
    elif _ack_facts(stored) != _ack_facts(reported):
        await devices.audit_device(session, "device.ack_refused", device, audit_data)
        raise AckConflict(
            f"This signal was already acknowledged by this device as {stored.status.value}; "
            "a different ack is refused."
        )
    return AckOut(
        approval_id=approval.id,
        device_id=device.id,
        status=stored.status,
        ticket=stored.ticket,
        price=stored.price,
        volume=stored.volume,
        error=stored.error,
        acked_at=stored.acked_at,
    )


def _ack_facts(delivery: EaDelivery) -> dict[str, Any]:
    return {
        "status": delivery.status.value,
        "ticket": delivery.ticket,
        "price": None if delivery.price is None else price_text(delivery.price),
        "volume": None if delivery.volume is None else price_text(delivery.volume),
        "error": delivery.error,
    }


def execution_notice(signal: Signal, device_name: str, delivery: EaDelivery) -> str:
    """ "EURUSD buy executed at 1.08512, ticket 123456 (Office MT5)"."""
    trade = f"{signal.symbol} {signal.side.value}"
    if delivery.status is EaDeliveryStatus.executed:
        price = "" if delivery.price is None else f" at {price_text(delivery.price)}"
        ticket = "" if delivery.ticket is None else f", ticket {delivery.ticket}"
        return f"{trade} executed{price}{ticket} ({device_name})"
    reason = delivery.error or "no reason given"
    return f"{trade} {delivery.status.value} on {device_name}: {reason}"
