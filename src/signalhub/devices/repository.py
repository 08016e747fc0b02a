from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from signalhub.kit.repository import Repository
from signalhub.models import (
    Approval,
    ApprovalStatus,
    Device,
    DeviceNonce,
    DeviceStatus,
    EaDelivery,
    EaDeliveryStatus,
    Signal,
    SignalStatus,
    User,
)


@dataclass(frozen=True)
class DeviceCredentials:
    id: int
    user_id: int
    name: str
    status: DeviceStatus
    secret_encrypted: str
    last_seen_at: datetime | None
    # Read in the same query: a banned owner's devices are refused.
    owner_banned: bool


class DeviceRepository(Repository):
    async def add(self, device: Device) -> Device:
        self.session.add(device)
        await self.session.flush()
        return device

    async def credentials(self, device_id: int) -> DeviceCredentials | None:
        """What authenticating a request needs, as plain columns (the owner's ban included): no
        ORM row to build on the path every poll takes."""
        row = (
            await self.session.execute(
                select(
                    Device.id,
                    Device.user_id,
                    Device.name,
                    Device.status,
                    Device.secret_encrypted,
                    Device.last_seen_at,
                    User.banned_at.is_not(None),
                )
                .join(User, User.id == Device.user_id)
                .where(Device.id == device_id)
            )
        ).first()
        return None if row is None else DeviceCredentials(*row)

    async def get_owned(self, user_id: int, device_id: int) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.id == device_id, Device.user_id == user_id)
        )

    async def list_for_user(self, user_id: int) -> Sequence[Device]:
        result = await self.session.scalars(
            select(Device)
            .where(Device.user_id == user_id)
            .order_by(Device.status, Device.created_at.desc(), Device.id.desc())
        )
        return result.all()

    async def count_active(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Device)
            .where(Device.user_id == user_id, Device.status == DeviceStatus.active)
        )
        return int(count or 0)

    async def lock_owner(self, user_id: int) -> bool:
        """Serialises registrations of one user, so two at once cannot both pass the limit
        (row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers)."""
        locked = await self.session.scalar(
            select(User.id).where(User.id == user_id).with_for_update()
        )
        return locked is not None

    async def touch(
        self, device_id: int, ip: str | None, now: datetime, stale_before: datetime
    ) -> None:
        """Last seen, written only when the stored value is older than `stale_before`."""
        await self.session.execute(
            update(Device)
            .where(
                Device.id == device_id,
                or_(Device.last_seen_at.is_(None), Device.last_seen_at < stale_before),
            )
            .values(last_seen_at=now, last_ip=ip)
        )


class DeviceNonceRepository(Repository):
    async def add_if_new(self, device_id: int, nonce: str, now: datetime) -> bool:
        """False when the device already used this nonce (the unique index decides)."""
        added = await self.session.scalar(
            self.insert_ignoring_conflicts(DeviceNonce, ["device_id", "nonce"])
            .values(device_id=device_id, nonce=nonce, seen_at=now)
            .returning(DeviceNonce.device_id)
        )
        return added is not None

    async def refresh_if_older(
        self, device_id: int, nonce: str, expired_before: datetime, now: datetime
    ) -> bool:
        """Compare-and-set on a row the purge has not reached yet: True when it had expired."""
        result = await self.session.execute(
            update(DeviceNonce)
            .where(
                DeviceNonce.device_id == device_id,
                DeviceNonce.nonce == nonce,
                DeviceNonce.seen_at < expired_before,
            )
            .values(seen_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete_older_than(self, before: datetime) -> int:
        result = await self.session.execute(delete(DeviceNonce).where(DeviceNonce.seen_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


def _held(now: datetime) -> ColumnElement[bool]:
    """A delivery its device holds: acknowledged (no lease), or within its lease."""
    return or_(EaDelivery.lease_until.is_(None), EaDelivery.lease_until > now)


class EaDeliveryRepository(Repository):
    async def offerable(
        self, user_id: int, device_ids: Collection[int], now: datetime, limit: int
    ) -> Sequence[tuple[Approval, Signal]]:
        """The user's approved signals, still running, that at least one of these devices does
        not hold (never taken, or taken, unacknowledged and its lease ended), oldest first."""
        held_by = (
            select(func.count())
            .where(
                EaDelivery.approval_id == Approval.id,
                EaDelivery.device_id.in_(device_ids),
                _held(now),
            )
            .scalar_subquery()
        )
        result = await self.session.execute(
            select(Approval, Signal)
            .join(Signal, Signal.id == Approval.signal_id)
            .where(
                Approval.user_id == user_id,
                Approval.status == ApprovalStatus.approved,
                Signal.status == SignalStatus.active,
                Signal.expires_at > now,
                held_by < len(device_ids),
            )
            .order_by(Approval.id)
            .limit(limit)
        )
        return [(approval, signal) for approval, signal in result]

    async def held_pairs(
        self, approval_ids: Collection[int], device_ids: Collection[int], now: datetime
    ) -> set[tuple[int, int]]:
        """(approval, device) pairs among these that are acknowledged or within their lease."""
        result = await self.session.execute(
            select(EaDelivery.approval_id, EaDelivery.device_id).where(
                EaDelivery.approval_id.in_(approval_ids),
                EaDelivery.device_id.in_(device_ids),
                _held(now),
            )
        )
        return {(approval_id, device_id) for approval_id, device_id in result}

    async def take_pairs(
        self, pairs: Collection[tuple[int, int]], now: datetime, lease_until: datetime
    ) -> set[tuple[int, int]]:
        """Records the hand-over of each (approval, device) pair in one statement, leased until
        `lease_until`: a pair never taken is inserted, an unacknowledged one whose lease has
        ended is leased again. Answers the pairs this call took. A concurrent poll of the same
        device meets the unique index or the renewed lease and takes none of them."""
        if not pairs:
            return set()
        statement = (
            self.insert_updating_conflicts(
                EaDelivery,
                ["approval_id", "device_id"],
                set_={"lease_until": lease_until},
                # An acknowledged delivery has no lease: NULL never passes.
                where=EaDelivery.lease_until <= now,
            )
            .values(
                [
                    {
                        "approval_id": approval_id,
                        "device_id": device_id,
                        "status": EaDeliveryStatus.taken,
                        "taken_at": now,
                        "lease_until": lease_until,
                    }
                    for approval_id, device_id in pairs
                ]
            )
            .returning(EaDelivery.approval_id, EaDelivery.device_id)
        )
        result = await self.session.execute(statement)
        return {(approval_id, device_id) for approval_id, device_id in result}

    async def add_if_absent(self, approval_id: int, device_id: int, now: datetime) -> None:
        """The delivery row for the ack of a signal this device never polled for (the ack that
        follows in the same transaction clears its lease)."""
        await self.session.execute(
            self.insert_ignoring_conflicts(EaDelivery, ["approval_id", "device_id"]).values(
                approval_id=approval_id,
                device_id=device_id,
                status=EaDeliveryStatus.taken,
                taken_at=now,
                lease_until=now,
            )
        )

    async def approved_for_user(
        self, approval_id: int, user_id: int
    ) -> tuple[Approval, Signal, User] | None:
        row = (
            await self.session.execute(
                select(Approval, Signal, User)
                .join(Signal, Signal.id == Approval.signal_id)
                .join(User, User.id == Approval.user_id)
                .where(
                    Approval.id == approval_id,
                    Approval.user_id == user_id,
                    Approval.status == ApprovalStatus.approved,
                )
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    async def record_ack(self, delivery: EaDelivery) -> bool:
        """Compare-and-set: the first ack of this approval on this device wins."""
        result = await self.session.execute(
            update(EaDelivery)
            .where(
                EaDelivery.approval_id == delivery.approval_id,
                EaDelivery.device_id == delivery.device_id,
                EaDelivery.status == EaDeliveryStatus.taken,
            )
            .values(
                status=delivery.status,
                lease_until=None,
                acked_at=delivery.acked_at,
                ticket=delivery.ticket,
                price=delivery.price,
                volume=delivery.volume,
                error=delivery.error,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def get(self, approval_id: int, device_id: int) -> EaDelivery | None:
        return await self.session.scalar(
            select(EaDelivery)
            .where(EaDelivery.approval_id == approval_id, EaDelivery.device_id == device_id)
            .execution_options(populate_existing=True)
        )
