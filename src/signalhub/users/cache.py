"""Who the caller is, without a database round trip for the common case.

Each API process keeps, per user, what an authenticated request needs (`SignedInUser`: role,
ban, token version, profile) and what `GET /me` shows (the current tier), for at most
`USER_CACHE_TTL_S` seconds and at most `MAX_ENTRIES` users. The TTL only bounds memory and
what nobody announces; correctness does not rest on it: every change that matters (ban, unban,
role, tier granted or revoked, profile, marketing choice) publishes `users.changed` after its
transaction commits (kit.bus.publish_user_changed) and every process drops that user's entry
as the message arrives.

The cache serves only while no such message can be missed: with Redis, while the bus holds a
confirmed subscription (a lost connection empties the cache, and it reads the database until
Redis answers again); without Redis, only on SQLite, the embedded single-process setup. On
PostgreSQL without Redis other processes could change a user unseen, so every request reads
the database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.entitlements.service import CurrentTier, TierReading
from signalhub.kit.bus import USER_CHANGES_CHANNEL, Bus, BusMessage
from signalhub.users.repository import UserRepository
from signalhub.users.signed_in import SignedInUser

MAX_ENTRIES = 50_000


def build_user_cache(database: Database, ttl_s: float) -> UserCache:
    """A cache that serves only where every change reaches it: across processes through
    Redis, or on SQLite, run as one process."""
    reaches_every_change = database.bus.crosses_processes or database.dialect == "sqlite"
    return UserCache(database.bus, ttl_s, enabled=reaches_every_change)


@dataclass(frozen=True)
class _Entry:
    user: SignedInUser
    fresh_until: float
    tier: TierReading | None = None


class UserCache:
    def __init__(self, bus: Bus, ttl_s: float, *, enabled: bool = True) -> None:
        self.channels = (USER_CHANGES_CHANNEL,)
        self._bus = bus
        self._ttl_s = ttl_s
        self._enabled = enabled and ttl_s > 0
        self._entries: dict[int, _Entry] = {}
        self._attached = False
        self._epoch: int | None = None
        # Counts the changes heard of: a read that a change overtook is not kept.
        self._changes = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Listens for changes for as long as the app runs; it serves nothing before."""
        if not self._enabled:
            yield
            return
        # An API process starts even while Redis does not answer; it reads the database then.
        async with self._bus.attached(self, wait=False):
            self._attached = True
            try:
                yield
            finally:
                self._attached = False
                self._entries.clear()

    def deliver(self, message: BusMessage) -> None:
        self._changes += 1
        user_id = message.data.get("user_id")
        if isinstance(user_id, int):
            self._entries.pop(user_id, None)
        else:
            self._entries.clear()

    def holds(self, user_id: int) -> bool:
        return user_id in self._entries

    async def user(self, database: Database, user_id: int) -> SignedInUser | None:
        """The user as last read, or None if there is no such user. A miss reads the row in a
        session of its own, so that a request the cache answers opens none."""
        epoch = self._serving_epoch()
        entry = self._fresh_entry(user_id) if epoch is not None else None
        if entry is not None:
            return entry.user
        changes = self._changes
        async with database.sessionmaker() as session:
            row = await UserRepository(session).get(user_id)
            if row is None:
                return None
            user = SignedInUser.of(row)
        if epoch is not None and self._unchanged_since(epoch, changes):
            self._store(user_id, _Entry(user, time.monotonic() + self._ttl_s))
        return user

    async def tier(self, database: Database, user_id: int, now: datetime) -> CurrentTier:
        """The tier the user holds at `now`, kept with their entry until a period starts or
        ends. A miss reads it in a session of its own."""
        epoch = self._serving_epoch()
        entry = self._fresh_entry(user_id) if epoch is not None else None
        if entry is not None and entry.tier is not None:
            changes_at = entry.tier.changes_at
            if changes_at is None or now < changes_at:
                return entry.tier.current
        changes = self._changes
        async with database.sessionmaker() as session:
            reading = await entitlements.reading(session, user_id, now)
        if (
            entry is not None
            and epoch is not None
            and self._unchanged_since(epoch, changes)
            and self._entries.get(user_id) is entry
        ):
            self._entries[user_id] = replace(entry, tier=reading)
        return reading.current

    def _fresh_entry(self, user_id: int) -> _Entry | None:
        entry = self._entries.get(user_id)
        if entry is None or entry.fresh_until <= time.monotonic():
            return None
        return entry

    def _serving_epoch(self) -> int | None:
        """None while the cache must not serve; an epoch that differs from the one the
        entries were kept under means messages may have been lost in between."""
        if not self._attached:
            return None
        epoch = self._bus.delivery_epoch(USER_CHANGES_CHANNEL)
        if epoch != self._epoch:
            self._entries.clear()
            self._epoch = epoch
        return epoch

    def _unchanged_since(self, epoch: int, changes: int) -> bool:
        return self._serving_epoch() == epoch and self._changes == changes

    def _store(self, user_id: int, entry: _Entry) -> None:
        self._entries.pop(user_id, None)
        self._entries[user_id] = entry
        if len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]
