from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from signalhub.kit.repository import Repository
from signalhub.marketing.segments import Segment, SegmentKind
from signalhub.models import (
    Broadcast,
    BroadcastClick,
    BroadcastDelivery,
    BroadcastStatus,
    BroadcastTemplate,
    DeliveryStatus,
    Entitlement,
    OutboxMessage,
    OutboxStatus,
    Tier,
    User,
)
from signalhub.models.base import UTCDateTime

_TIER_RANK = case({tier.value: tier.rank for tier in Tier}, value=Entitlement.tier)
# What the sender's final outbox statuses mean for a recipient.
OUTBOX_OUTCOME = {
    OutboxStatus.sent: DeliveryStatus.delivered,
    OutboxStatus.failed: DeliveryStatus.failed,
    OutboxStatus.interrupted: DeliveryStatus.failed,
    OutboxStatus.dropped: DeliveryStatus.blocked,
}


class MarketingRepository(Repository):
    # -- templates -----------------------------------------------------------------------------
    async def add(self, row: BroadcastTemplate | Broadcast) -> None:
        self.session.add(row)
        await self.session.flush()

    async def get_template(self, template_id: int) -> BroadcastTemplate | None:
        return await self.session.get(BroadcastTemplate, template_id)

    async def list_templates(self, *, active_only: bool) -> Sequence[BroadcastTemplate]:
        statement = select(BroadcastTemplate).order_by(BroadcastTemplate.id.desc())
        if active_only:
            statement = statement.where(BroadcastTemplate.is_active.is_(True))
        return (await self.session.scalars(statement)).all()

    # -- broadcasts ----------------------------------------------------------------------------
    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def lock(self, broadcast_id: int) -> Broadcast | None:
        """Cancel, fan-out and settle each take this first, so they never interleave."""
        return await self.session.scalar(
            select(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def page(self, offset: int, limit: int) -> tuple[Sequence[Broadcast], int]:
        rows = await self.session.scalars(
            select(Broadcast).order_by(Broadcast.id.desc()).offset(offset).limit(limit)
        )
        total = await self.session.scalar(select(func.count()).select_from(Broadcast))
        return rows.all(), int(total or 0)

    async def due(self, now: datetime, limit: int) -> Sequence[int]:
        result = await self.session.scalars(
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.scheduled, Broadcast.scheduled_at <= now)
            .order_by(Broadcast.scheduled_at, Broadcast.id)
            .limit(limit)
        )
        return result.all()

    async def ids_with_status(self, status: BroadcastStatus) -> Sequence[int]:
        result = await self.session.scalars(
            select(Broadcast.id).where(Broadcast.status == status).order_by(Broadcast.id)
        )
        return result.all()

    async def claim_start(self, broadcast_id: int, now: datetime) -> bool:
        """The one conditional update that starts a broadcast: of several workers racing for it,
        exactly one sees a row change (PostgreSQL re-checks the condition after the row lock)."""
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.scheduled)
            .values(status=BroadcastStatus.sending, started_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # -- segments ------------------------------------------------------------------------------
    def recipients(self, segment: Segment, language: str | None, now: datetime) -> Select[Any]:
        """Users in the segment who can and want to receive marketing, and are not banned."""
        statement = select(User.id).where(
            User.bot_blocked.is_(False),
            User.marketing_opt_out.is_(False),
            User.banned_at.is_(None),
        )
        if language is not None:
            # "en" takes en-US too; Telegram's tags may be upper case in the region.
            code = func.lower(User.language_code)
            statement = statement.where(or_(code == language, code.like(f"{language}-%")))
        condition = _segment_condition(segment, now)
        return statement if condition is None else statement.where(condition)

    async def count(self, statement: Select[Any]) -> int:
        total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        return int(total or 0)

    async def resolve_segment(
        self, broadcast_id: int, segment: Segment, language: str | None, now: datetime
    ) -> int:
        """One INSERT ... SELECT: the recipients are fixed when sending starts, one row each."""
        users = self.recipients(segment, language, now).subquery()
        statement = insert(BroadcastDelivery).from_select(
            ["broadcast_id", "user_id", "status", "created_at"],
            select(
                literal(broadcast_id),
                users.c.id,
                literal(DeliveryStatus.pending, BroadcastDelivery.__table__.c.status.type),
                literal(now, UTCDateTime()),
            ),
        )
        result = await self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)

    # -- fan-out -------------------------------------------------------------------------------
    async def claim_pending(self, broadcast_id: int, limit: int) -> Sequence[Any]:
        """Deliveries not yet in the outbox, with what rendering needs. SKIP LOCKED: a second
        worker takes the next rows instead of the same ones."""
        result = await self.session.execute(
            select(
                BroadcastDelivery.id,
                User.id.label("user_id"),
                User.telegram_id,
                User.first_name,
                User.bot_blocked,
                User.marketing_opt_out,
                User.banned_at,
            )
            .join(User, User.id == BroadcastDelivery.user_id)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status == DeliveryStatus.pending,
            )
            .order_by(BroadcastDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=BroadcastDelivery)
        )
        return result.all()

    async def update_deliveries(self, changes: list[dict[str, Any]]) -> None:
        """Bulk UPDATE by primary key: each dict holds `id` and the new values."""
        if changes:
            await self.session.execute(update(BroadcastDelivery), changes)

    async def count_with_status(self, broadcast_id: int, status: DeliveryStatus) -> int:
        total = await self.session.scalar(
            select(func.count()).where(
                BroadcastDelivery.broadcast_id == broadcast_id, BroadcastDelivery.status == status
            )
        )
        return int(total or 0)

    async def has_pending(self, broadcast_id: int) -> bool:
        return await self._exists(broadcast_id, DeliveryStatus.pending, DeliveryStatus.queued)

    async def _exists(self, broadcast_id: int, *statuses: DeliveryStatus) -> bool:
        found = await self.session.scalar(
            select(BroadcastDelivery.id)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status.in_(statuses),
            )
            .limit(1)
        )
        return found is not None

    # -- settling ------------------------------------------------------------------------------
    async def finished_in_outbox(self, broadcast_id: int, limit: int) -> Sequence[Any]:
        result = await self.session.execute(
            select(
                BroadcastDelivery.id,
                OutboxMessage.status,
                OutboxMessage.sent_at,
                OutboxMessage.last_error,
            )
            .join(OutboxMessage, OutboxMessage.id == BroadcastDelivery.outbox_id)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status == DeliveryStatus.queued,
                OutboxMessage.status.in_(list(OUTBOX_OUTCOME)),
            )
            .order_by(BroadcastDelivery.id)
            .limit(limit)
        )
        return result.all()

    # -- cancelling ----------------------------------------------------------------------------
    async def drop_queued(self, broadcast_id: int, reason: str) -> None:
        """Outbox rows still waiting; a row the sender already took is left to finish."""
        queued = select(BroadcastDelivery.outbox_id).where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.status == DeliveryStatus.queued,
        )
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.id.in_(queued))
            .values(status=OutboxStatus.dropped, last_error=reason)
            .execution_options(synchronize_session=False)
        )

    async def cancel_unsent(self, broadcast_id: int, reason: str) -> int:
        dropped = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.dropped, OutboxMessage.last_error == reason
        )
        result = await self.session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                or_(
                    BroadcastDelivery.status == DeliveryStatus.pending,
                    and_(
                        BroadcastDelivery.status == DeliveryStatus.queued,
                        BroadcastDelivery.outbox_id.in_(dropped),
                    ),
                ),
            )
            .values(status=DeliveryStatus.cancelled, failed_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- clicks --------------------------------------------------------------------------------
    async def delivery_for(self, broadcast_id: int, user_id: int) -> BroadcastDelivery | None:
        return await self.session.scalar(
            select(BroadcastDelivery).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.user_id == user_id,
            )
        )

    async def insert_click(self, delivery_id: int, button: int, now: datetime) -> bool:
        """False when this recipient already clicked this button (the unique index decides)."""
        statement = self.insert_ignoring_conflicts(
            BroadcastClick, ["delivery_id", "button"]
        ).values(delivery_id=delivery_id, button=button, clicked_at=now)
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def mark_clicked(self, delivery_id: int, now: datetime) -> None:
        await self.session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.id == delivery_id, BroadcastDelivery.clicked_at.is_(None))
            .values(clicked_at=now)
            .execution_options(synchronize_session=False)
        )

    # -- analytics -----------------------------------------------------------------------------
    async def status_counts(self, broadcast_id: int) -> dict[DeliveryStatus, int]:
        result = await self.session.execute(
            select(BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(BroadcastDelivery.status)
        )
        return {DeliveryStatus(status): int(count) for status, count in result.all()}

    async def clicked_count(self, broadcast_id: int) -> int:
        total = await self.session.scalar(
            select(func.count()).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.clicked_at.is_not(None),
            )
        )
        return int(total or 0)

    async def clicks_per_button(self, broadcast_id: int) -> dict[int, int]:
        result = await self.session.execute(
            select(BroadcastClick.button, func.count())
            .join(BroadcastDelivery, BroadcastDelivery.id == BroadcastClick.delivery_id)
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(BroadcastClick.button)
        )
        return {int(button): int(count) for button, count in result.all()}

    async def per_minute(self, broadcast_id: int, column: Any) -> dict[str, int]:
        """Counts per UTC minute ("2026-11-30T13:05") of a timestamp column of deliveries."""
        if self.dialect == "postgresql":
            minute: ColumnElement[Any] = func.to_char(
                func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI'
            )
        else:
            minute = func.strftime("%Y-%m-%dT%H:%M", column)
        result = await self.session.execute(
            select(minute, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast_id, column.is_not(None))
            .group_by(minute)
        )
        return {str(bucket): int(count) for bucket, count in result.all()}


def _segment_condition(segment: Segment, now: datetime) -> ColumnElement[bool] | None:
    live = (Entitlement.user_id == User.id, Entitlement.revoked_at.is_(None))
    current_rank = (
        select(func.max(_TIER_RANK))
        .where(*live, Entitlement.starts_at <= now, Entitlement.expires_at > now)
        .scalar_subquery()
    )
    match segment.kind:
        case SegmentKind.all:
            return None
        case SegmentKind.free:
            return current_rank.is_(None)
        case SegmentKind.paid:
            return current_rank.is_not(None)
        case SegmentKind.premium | SegmentKind.vip | SegmentKind.enterprise:
            return current_rank == Tier(segment.kind.value).rank
        case SegmentKind.expiring:
            assert segment.days is not None
            paid_until = (
                select(func.max(Entitlement.expires_at))
                .where(*live, Entitlement.expires_at > now)
                .scalar_subquery()
            )
            return and_(current_rank.is_not(None), paid_until <= now + timedelta(days=segment.days))
        case SegmentKind.lapsed:
            assert segment.days is not None
            last_ended = (
                select(func.max(Entitlement.expires_at))
                .where(*live, Entitlement.expires_at <= now)
                .scalar_subquery()
            )
            return and_(current_rank.is_(None), last_ended > now - timedelta(days=segment.days))
