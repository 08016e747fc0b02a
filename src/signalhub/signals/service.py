"""Signals and the approvals they ask for: publishing, fan-out, deciding, expiry.

A published signal is fanned out by the worker in batches (`fan_out_batch`), each one
transaction holding the batch's approvals and their bot messages, so a crash leaves no
approval without its message and a resumed fan-out, keyed by (signal, user), offers nobody
twice. Decisions come from the bot's buttons and the Mini App alike, through `decide`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.errors import Conflict, NotFound
from signalhub.kit.bus import publish_after_commit, user_channel
from signalhub.models import (
    Approval,
    ApprovalChannel,
    ApprovalStatus,
    Priority,
    Signal,
    SignalStatus,
)
from signalhub.outbox import service as outbox
from signalhub.signals import messages
from signalhub.signals.callbacks import approval_buttons
from signalhub.signals.repository import ApprovalRepository, SignalRepository
from signalhub.signals.schemas import (
    AdminSignalOut,
    AdminSignalPage,
    ApprovalCounts,
    ApprovalOut,
    ApprovalPage,
    SignalCreate,
    SignalOut,
)

# Live-update channels (kit.bus): a user's approvals changed on `user_channel(user_id)`.
# A signal ended (expired, cancelled): every client drops its cards.
SIGNALS_CHANNEL = "signals"
# A signal waits for fan-out: wakes the worker at once instead of at its next look.
FANOUT_CHANNEL = "signals.fanout"
PENDING_LIMIT = 100


def grants_a_signal(update: dict[str, Any]) -> bool:
    """Whether a live update on a user's channel gives their devices a signal to take: an
    approval, not a new approval request or a rejection."""
    return (
        update.get("type") == "approval.decided"
        and update.get("status") == ApprovalStatus.approved.value
    )


class SignalNotFound(NotFound):
    code = "signal_not_found"


class ApprovalNotFound(NotFound):
    code = "approval_not_found"


class AlreadyDecided(Conflict):
    code = "already_decided"


class SignalExpired(Conflict):
    code = "signal_expired"


class SignalCancelled(Conflict):
    code = "signal_cancelled"


async def publish(
    session: AsyncSession, data: SignalCreate, actor_user_id: int | None, now: datetime
) -> Signal:
    signal = await SignalRepository(session).add(
        Signal(
            symbol=data.symbol,
            side=data.side,
            order_type=data.order_type,
            entry_price=data.entry_price,
            stop_loss=data.stop_loss,
            take_profits=[str(level) for level in data.take_profits],
            note=data.note,
            min_tier=data.min_tier,
            status=SignalStatus.active,
            expires_at=now + timedelta(seconds=data.expires_in_s),
            created_by_user_id=actor_user_id,
            fanout_cursor=0,
            created_at=now,
            updated_at=now,
        )
    )
    await audit.record(
        session,
        "signal.published",
        subject_type="signal",
        subject_id=signal.id,
        actor_user_id=actor_user_id,
        data=data.model_dump(mode="json"),
    )
    publish_after_commit(session, FANOUT_CHANNEL, {"signal_id": signal.id})
    return signal


async def cancel(
    session: AsyncSession, signal_id: int, actor_user_id: int | None, now: datetime
) -> Signal:
    """Idempotent; an expired signal cannot be cancelled any more."""
    signal = await SignalRepository(session).lock(signal_id)
    if signal is None:
        raise SignalNotFound(f"No signal {signal_id}.")
    if signal.status is SignalStatus.cancelled:
        return signal
    if signal.status is SignalStatus.expired or signal.expires_at <= now:
        raise SignalExpired("The signal has already expired.")
    signal.status = SignalStatus.cancelled
    signal.cancelled_at = now
    await session.flush()
    closed, dropped = await _close_offers(session, signal, ApprovalStatus.cancelled, now)
    await audit.record(
        session,
        "signal.cancelled",
        subject_type="signal",
        subject_id=signal.id,
        actor_user_id=actor_user_id,
        data={"pending_closed": closed, "messages_dropped": dropped},
    )
    return signal


async def expire_due(session: AsyncSession, now: datetime) -> int:
    """Worker job: signals past `expires_at` end; their unsent requests are dropped."""
    expired = await SignalRepository(session).due_to_expire(now)
    for signal in expired:
        signal.status = SignalStatus.expired
        await session.flush()
        closed, dropped = await _close_offers(session, signal, ApprovalStatus.expired, now)
        await audit.record(
            session,
            "signal.expired",
            subject_type="signal",
            subject_id=signal.id,
            data={"undecided": closed, "messages_dropped": dropped},
        )
    return len(expired)


async def _close_offers(
    session: AsyncSession, signal: Signal, status: ApprovalStatus, now: datetime
) -> tuple[int, int]:
    closed = await ApprovalRepository(session).close_pending(signal.id, status, now)
    dropped = await outbox.drop_pending(
        session, ApprovalRepository.message_ids(signal.id), f"signal {status.value}"
    )
    publish_after_commit(session, SIGNALS_CHANNEL, {"type": "signal.ended", "signal_id": signal.id})
    return closed, dropped


async def fan_out_batch(session: AsyncSession, now: datetime, batch_size: int) -> int | None:
    """One batch of the oldest signal still fanning out: approvals for the next eligible users
    and one message each. Returns how many users it covered (0 when it found everyone covered
    and marked the fan-out finished), or None when no signal is waiting."""
    signal = await SignalRepository(session).claim_for_fanout(now)
    if signal is None:
        return None
    recipients = await SignalRepository(session).recipients(
        signal.min_tier.and_above(), now, signal.fanout_cursor, batch_size
    )
    if not recipients:
        signal.fanout_finished_at = now
        await session.flush()
        return 0
    approvals = ApprovalRepository(session)
    created = dict(await approvals.insert_missing(signal.id, [r.user_id for r in recipients], now))
    chat_of = {recipient.user_id: recipient.telegram_id for recipient in recipients}
    text = messages.request_text(signal)
    message_ids = await outbox.enqueue_many(
        session,
        [
            outbox.NewMessage(chat_of[user_id], text, approval_buttons(approval_id), user_id)
            for approval_id, user_id in created.items()
        ],
        priority=Priority.signal,
        kind="signal",
        expires_at=signal.expires_at,
    )
    await approvals.link_messages(dict(zip(created, message_ids, strict=True)))
    signal.fanout_cursor = recipients[-1].user_id
    await session.flush()
    for approval_id, user_id in created.items():
        publish_after_commit(
            session,
            user_channel(user_id),
            {"type": "approval.created", "approval_id": approval_id, "signal_id": signal.id},
        )
    return len(recipients)


async def decide(
    session: AsyncSession,
    approval_id: int,
    user_id: int,
    approve: bool,
    via: ApprovalChannel,
    now: datetime,
) -> ApprovalOut:
    """The caller's own approval only (another's is a 404). The same decision again answers
    the approval as it is; anything else after a decision, expiry or cancellation is a 409."""
    found = await ApprovalRepository(session).lock_owned(approval_id, user_id)
    if found is None:
        raise ApprovalNotFound("No such approval among yours.")
    approval, signal = found
    wanted = ApprovalStatus.approved if approve else ApprovalStatus.rejected
    if approval.status is wanted:
        return approval_out(approval, signal, now)
    if approval.status in (ApprovalStatus.approved, ApprovalStatus.rejected):
        raise AlreadyDecided(f"You already {approval.status.value} this signal.")
    if approval.status is ApprovalStatus.cancelled or signal.status is SignalStatus.cancelled:
        raise SignalCancelled("The signal was cancelled.")
    if signal.status is SignalStatus.expired or signal.expires_at <= now:
        raise SignalExpired("The signal has expired.")

    approval.status = wanted
    approval.decided_at = now
    approval.decided_via = via
    approval.updated_at = now
    await session.flush()
    await audit.record(
        session,
        f"approval.{wanted.value}",
        subject_type="approval",
        subject_id=approval.id,
        user_id=user_id,
        actor_user_id=user_id,
        data={"signal_id": signal.id, "via": via.value},
    )
    if approval.outbox_message_id is not None:
        await outbox.replace(
            session,
            approval.outbox_message_id,
            messages.decision_text(signal, approval),
            priority=Priority.signal,
            kind="signal_decision",
        )
    publish_after_commit(
        session,
        user_channel(user_id),
        {"type": "approval.decided", "approval_id": approval.id, "status": wanted.value},
    )
    return approval_out(approval, signal, now)


async def pending(session: AsyncSession, user_id: int, now: datetime) -> list[ApprovalOut]:
    rows = await ApprovalRepository(session).pending_for_user(user_id, now, PENDING_LIMIT)
    return [approval_out(approval, signal, now) for approval, signal in rows]


async def history(
    session: AsyncSession,
    user_id: int,
    status: ApprovalStatus | None,
    before: int | None,
    limit: int,
    now: datetime,
) -> ApprovalPage:
    rows = await ApprovalRepository(session).history(user_id, status, before, limit + 1)
    items = [approval_out(approval, signal, now) for approval, signal in rows[:limit]]
    return ApprovalPage(items=items, next_before=items[-1].id if len(rows) > limit else None)


async def any_active_from(session: AsyncSession, user_id: int, now: datetime) -> bool:
    return await SignalRepository(session).any_active_from(user_id, now)


async def get(session: AsyncSession, signal_id: int) -> Signal:
    signal = await SignalRepository(session).get(signal_id)
    if signal is None:
        raise SignalNotFound(f"No signal {signal_id}.")
    return signal


async def admin_page(
    session: AsyncSession, before: int | None, limit: int, now: datetime
) -> AdminSignalPage:
    signals = await SignalRepository(session).page(before, limit + 1)
    items = await admin_views(session, signals[:limit], now)
    return AdminSignalPage(items=items, next_before=items[-1].id if len(signals) > limit else None)


async def admin_views(
    session: AsyncSession, signals: Sequence[Signal], now: datetime
) -> list[AdminSignalOut]:
    counts = await ApprovalRepository(session).counts([signal.id for signal in signals])
    return [
        AdminSignalOut(
            **SignalOut.model_validate(signal).model_dump(),
            cancelled_at=signal.cancelled_at,
            fanout_finished_at=signal.fanout_finished_at,
            counts=_counts(signal, counts.get(signal.id, {}), now),
        )
        for signal in signals
    ]


def _counts(signal: Signal, by_status: dict[ApprovalStatus, int], now: datetime) -> ApprovalCounts:
    """Undecided offers of a signal past its expiry count as expired, even before the expiry
    job has marked them."""
    pending = by_status.get(ApprovalStatus.pending, 0)
    ended = signal.status is SignalStatus.expired or signal.expires_at <= now
    return ApprovalCounts(
        targeted=sum(by_status.values()),
        pending=0 if ended else pending,
        approved=by_status.get(ApprovalStatus.approved, 0),
        rejected=by_status.get(ApprovalStatus.rejected, 0),
        expired=by_status.get(ApprovalStatus.expired, 0) + (pending if ended else 0),
        cancelled=by_status.get(ApprovalStatus.cancelled, 0),
    )


def approval_out(approval: Approval, signal: Signal, now: datetime) -> ApprovalOut:
    seconds_left = max(0, math.ceil((signal.expires_at - now).total_seconds()))
    if signal.status is not SignalStatus.active:
        seconds_left = 0
    return ApprovalOut(
        id=approval.id,
        status=approval.status,
        decided_at=approval.decided_at,
        decided_via=approval.decided_via,
        created_at=approval.created_at,
        seconds_left=seconds_left,
        signal=SignalOut.model_validate(signal),
    )
