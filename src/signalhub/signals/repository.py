from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select, update

from signalhub.kit.repository import Repository
from signalhub.models import (
    Approval,
    ApprovalStatus,
    Entitlement,
    Signal,
    SignalStatus,
    Tier,
    User,
)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    telegram_id: int


class SignalRepository(Repository):
    async def add(self, signal: Signal) -> Signal:
        self.session.add(signal)
        await self.session.flush()
        return signal

    async def get(self, signal_id: int) -> Signal | None:
        return await self.session.get(Signal, signal_id)

    async def lock(self, signal_id: int) -> Signal | None:
        return await self.session.scalar(
            select(Signal)
            .where(Signal.id == signal_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def page(self, before: int | None, limit: int) -> Sequence[Signal]:
        statement = select(Signal).order_by(Signal.id.desc()).limit(limit)
        if before is not None:
            statement = statement.where(Signal.id < before)
        return (await self.session.scalars(statement)).all()

    async def any_active_from(self, user_id: int, now: datetime) -> bool:
        found = await self.session.scalar(
            select(Signal.id)
            .where(
                Signal.created_by_user_id == user_id,
                Signal.status == SignalStatus.active,
                Signal.expires_at > now,
            )
            .limit(1)
        )
        return found is not None

    async def claim_for_fanout(self, now: datetime) -> Signal | None:
        """The oldest active signal still being fanned out, locked; a second worker skips it
        and takes the next one instead of waiting."""
        return await self.session.scalar(
            select(Signal)
            .where(
                Signal.status == SignalStatus.active,
                Signal.fanout_finished_at.is_(None),
                Signal.expires_at > now,
            )
            .order_by(Signal.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )

    async def due_to_expire(self, now: datetime) -> Sequence[Signal]:
        result = await self.session.scalars(
            select(Signal)
            .where(Signal.status == SignalStatus.active, Signal.expires_at <= now)
            .order_by(Signal.id)
            .with_for_update(skip_locked=True)
        )
        return result.all()

    async def recipients(
        self, tiers: Collection[Tier], now: datetime, after_user_id: int, limit: int
    ) -> list[Recipient]:
        """Users we can message (not blocking the bot, not banned) whose tier right now is one
        of `tiers`, by id from `after_user_id` on. A tier is held through a running, unrevoked
        entitlement, as in `entitlements.service.current`; the free tier needs none."""
        statement = (
            select(User.id, User.telegram_id)
            .where(User.id > after_user_id, User.bot_blocked.is_(False), User.banned_at.is_(None))
            .order_by(User.id)
            .limit(limit)
        )
        if Tier.free not in tiers:
            statement = statement.where(
                exists().where(
                    Entitlement.user_id == User.id,
                    Entitlement.tier.in_([tier.value for tier in tiers]),
                    Entitlement.revoked_at.is_(None),
                    Entitlement.starts_at <= now,
                    Entitlement.expires_at > now,
                )
            )
        rows = await self.session.execute(statement)
        return [Recipient(user_id, telegram_id) for user_id, telegram_id in rows]


class ApprovalRepository(Repository):
    async def insert_missing(
        self, signal_id: int, user_ids: Sequence[int], now: datetime
    ) -> list[tuple[int, int]]:
        """(approval id, user id) of the approvals this call created: users who already have
        one for this signal (a resumed fan-out) are left out, even under concurrency."""
        if not user_ids:
            return []
        statement = self.insert_ignoring_conflicts(Approval, ["signal_id", "user_id"]).returning(
            Approval.id, Approval.user_id
        )
        rows = await self.session.execute(
            statement,
            [
                {
                    "signal_id": signal_id,
                    "user_id": user_id,
                    "status": ApprovalStatus.pending,
                    "created_at": now,
                    "updated_at": now,
                }
                for user_id in user_ids
            ],
        )
        return [(approval_id, user_id) for approval_id, user_id in rows]

    async def link_messages(self, message_by_approval: dict[int, int]) -> None:
        if message_by_approval:
            await self.session.execute(
                update(Approval),
                [
                    {"id": approval_id, "outbox_message_id": message_id}
                    for approval_id, message_id in message_by_approval.items()
                ],
            )

    async def lock_owned(self, approval_id: int, user_id: int) -> tuple[Approval, Signal] | None:
        row = (
            await self.session.execute(
                select(Approval, Signal)
                .join(Signal, Signal.id == Approval.signal_id)
                .where(Approval.id == approval_id, Approval.user_id == user_id)
                .with_for_update(of=Approval)
                .execution_options(populate_existing=True)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def pending_for_user(
        self, user_id: int, now: datetime, limit: int
    ) -> Sequence[tuple[Approval, Signal]]:
        rows = await self.session.execute(
            select(Approval, Signal)
            .join(Signal, Signal.id == Approval.signal_id)
            .where(
                Approval.user_id == user_id,
                Approval.status == ApprovalStatus.pending,
                Signal.status == SignalStatus.active,
                Signal.expires_at > now,
            )
            .order_by(Approval.id.desc())
            .limit(limit)
        )
        return [(approval, signal) for approval, signal in rows]

    async def history(
        self, user_id: int, status: ApprovalStatus | None, before: int | None, limit: int
    ) -> Sequence[tuple[Approval, Signal]]:
        statement = (
            select(Approval, Signal)
            .join(Signal, Signal.id == Approval.signal_id)
            .where(Approval.user_id == user_id)
            .order_by(Approval.id.desc())
            .limit(limit)
        )
        if status is not None:
            statement = statement.where(Approval.status == status)
        if before is not None:
            statement = statement.where(Approval.id < before)
        rows = await self.session.execute(statement)
        return [(approval, signal) for approval, signal in rows]

    async def counts(self, signal_ids: Collection[int]) -> dict[int, dict[ApprovalStatus, int]]:
        counts: dict[int, dict[ApprovalStatus, int]] = {}
        if not signal_ids:
            return counts
        rows = await self.session.execute(
            select(Approval.signal_id, Approval.status, func.count())
            .where(Approval.signal_id.in_(list(signal_ids)))
            .group_by(Approval.signal_id, Approval.status)
        )
        for signal_id, status, count in rows:
            counts.setdefault(signal_id, {})[ApprovalStatus(status)] = int(count)
        return counts

    async def close_pending(self, signal_id: int, status: ApprovalStatus, now: datetime) -> int:
        result = await self.session.execute(
            update(Approval)
            .where(Approval.signal_id == signal_id, Approval.status == ApprovalStatus.pending)
            .values(status=status, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    def message_ids(signal_id: int) -> Select[Any]:
        """The outbox rows that carry this signal's requests, for the outbox to drop."""
        return select(Approval.outbox_message_id).where(
            Approval.signal_id == signal_id, Approval.outbox_message_id.is_not(None)
        )
