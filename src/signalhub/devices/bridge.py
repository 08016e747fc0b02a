"""The EA bridge: a user's approved signals reach each of their devices, and come back as
acknowledgements that tell the trader what their terminal did.

A hand-over is at least once: a signal taken but not acknowledged is offered to the device
again once its lease ends, because the answer that carried it may never have arrived (the
device timed out or hung up, an overloaded server answered too late). Execution is exactly once
by approval id: a device that already executed it re-sends its recorded ack, which the server
answers like the first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.devices.repository import EaDeliveryRepository
from signalhub.devices.schemas import AckIn, AckOut, EaSignal
from signalhub.devices.service import AuthenticatedDevice
from signalhub.devices.traffic import DeviceTraffic
from signalhub.errors import Conflict, NotFound
from signalhub.kit.bus import Subscription, user_channel
from signalhub.kit.time import utcnow
from signalhub.models import Approval, EaDelivery, EaDeliveryStatus, Priority, Signal
from signalhub.outbox import service as outbox
from signalhub.signals.schemas import price_text
from signalhub.signals.service import grants_a_signal

# Signals handed out by one poll; more wait for the next one.
POLL_BATCH = 50
# How long the polls one approval woke are gathered into one hand-over: the devices of a user
# wake within the same few turns of the event loop.
GATHER_S = 0.01


class AckConflict(Conflict):
    code = "already_acked"
    # The refused ack is audited.
    commit_transaction = True


async def take(
    session: AsyncSession,
    user_id: int,
    device_ids: Collection[int],
    now: datetime,
    lease: timedelta,
) -> dict[int, list[EaSignal]]:
    """What each of these devices of one user does not hold, by device, marked taken for
    `lease`: signals it never took, and those it took without acknowledging whose lease ended.
    Acknowledged, expired or cancelled signals are never handed out; a concurrent poll of the
    same device gets none of the same signals within a lease; a device on an account its
    trader unlinked gets nothing."""
    repository = EaDeliveryRepository(session)
    # Most looks find nothing: the accounts are checked only when there is something to hand.
    rows = await repository.offerable(user_id, device_ids, now, POLL_BATCH)
    if not rows:
        return {}
    takers = await accounts.devices_taking_signals(session, device_ids)
    if not takers:
        return {}
    offered = {approval.id: _ea_signal(approval, signal) for approval, signal in rows}
    held = await repository.held_pairs(offered, takers, now)
    wanted = [
        (approval_id, device_id)
        for device_id in sorted(takers)
        for approval_id in offered
        if (approval_id, device_id) not in held
    ]
    taken: dict[int, list[EaSignal]] = {}
    for approval_id, device_id in sorted(await repository.take_pairs(wanted, now, now + lease)):
        taken.setdefault(device_id, []).append(offered[approval_id])
    return taken


@dataclass
class _Taker:
    device_id: int
    handed: asyncio.Future[list[EaSignal]]


class Handover:
    """Per process: the long polls of one user that the same approval wakes (a trader's 20
    devices at once) take their signals in one transaction together, not one each, so an
    approval costs one look at the database per API instance instead of one per device.
    `lease` is how long a device holds what it takes (SIGNALHUB_EA_LEASE_S)."""

    def __init__(self, database: Database, lease: timedelta) -> None:
        self._database = database
        self.lease = lease
        self._gathering: dict[int, list[_Taker]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def take(self, user_id: int, device_id: int) -> list[EaSignal]:
        takers = self._gathering.get(user_id)
        if takers is None:
            takers = self._gathering[user_id] = []
            asyncio.get_running_loop().call_later(GATHER_S, self._start, user_id)
        taker = _Taker(device_id, asyncio.get_running_loop().create_future())
        takers.append(taker)
        try:
            return await asyncio.shield(taker.handed)
        except asyncio.CancelledError:
            # A poll that ends before its batch starts (the device hung up) takes nothing.
            if takers is self._gathering.get(user_id):
                takers.remove(taker)
            raise

    def _start(self, user_id: int) -> None:
        takers = self._gathering.pop(user_id)
        if takers:
            task = asyncio.create_task(self._hand_over(user_id, takers))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _hand_over(self, user_id: int, takers: list[_Taker]) -> None:
        try:
            async with self._database.transaction() as session:
                taken = await take(
                    session, user_id, {t.device_id for t in takers}, utcnow(), self.lease
                )
        except asyncio.CancelledError:
            for taker in takers:
                taker.handed.cancel()
            raise
        except Exception as error:
            for taker in takers:
                taker.handed.set_exception(error)
            return
        for taker in takers:
            # Two polls of one device in the same batch: the first gets the signals.
            taker.handed.set_result(taken.pop(taker.device_id, []))

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


async def long_poll(
    traffic: DeviceTraffic,
    handover: Handover,
    authenticate: Callable[[AsyncSession], Awaitable[AuthenticatedDevice]],
    wait_s: float,
    disconnected: Callable[[], Awaitable[None]],
) -> list[EaSignal]:
    """Authenticates and answers at once when something is there, in one transaction (a poll is
    the request a fleet of devices sends most); else waits up to `wait_s` for an approval on
    the user's live-update channel and looks again, with the user's other waiting devices,
    through `handover`. Holds no database connection while it waits, and stops as soon as the
    device hangs up (`disconnected` returns), so little is marked taken that nobody receives
    (what is, the lease offers again).
    The subscription opens before the first look, so an approval committed in between still
    wakes it; the bus only wakes, the database decides."""
    deadline = time.monotonic() + wait_s
    gone = asyncio.ensure_future(disconnected())
    try:
        async with AsyncExitStack() as subscribed:
            async with traffic.transaction() as session:
                # A device that hung up while the poll waited for its turn (an overloaded server)
                # costs no query and takes nothing; one step lets `gone` notice.
                await asyncio.sleep(0)
                if gone.done():
                    return []
                device = await authenticate(session)
                wake_ups = await subscribed.enter_async_context(
                    traffic.database.bus.subscribe(user_channel(device.user_id))
                )
                taken = await take(session, device.user_id, [device.id], utcnow(), handover.lease)
            signals = taken.get(device.id, [])
            while not signals and not gone.done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                woken = asyncio.ensure_future(_approval(wake_ups, remaining))
                await asyncio.wait({woken, gone}, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                if woken.done() and not woken.cancelled() and woken.result() and not gone.done():
                    signals = await handover.take(device.user_id, device.id)
            return signals
    finally:
        gone.cancel()


async def _approval(wake_ups: Subscription, within_s: float) -> bool:
    """True when an approval arrives within `within_s`; other updates on the channel (a new
    approval request, a rejection) wake nobody."""
    deadline = time.monotonic() + within_s
    while (remaining := deadline - time.monotonic()) > 0:
        update = await wake_ups.get(within_s=remaining)
        if update is None:
            return False
        if grants_a_signal(update.data):
            return True
    return False


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
    """Idempotent per approval and device: the first ack wins, ends the lease and tells the
    trader; the same ack again answers the stored one; a different one is a 409."""
    repository = EaDeliveryRepository(session)
    found = await repository.approved_for_user(report.approval_id, device.user_id)
    if found is None:
        raise NotFound(
            "No approved signal of yours has this approval_id.", code="approval_not_found"
        )
    approval, signal, user = found
    # An ack of a signal this device never polled for still counts, once.
    await repository.add_if_absent(approval.id, device.id, now)
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
    # The first ack is what was stored; a later one is compared with what the first left.
    stored = reported if first else await repository.get(approval.id, device.id)
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
