"""Reads through the cache: one gateway read per account per `ttl_s`, shared by every concurrent
reader (single-flight); a read slower than `timeout_s` or failing answers the last snapshot,
marked stale."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import AppError
from signalhub.kit.time import utcnow
from signalhub.positions.cache import SnapshotCache, build_snapshot_cache
from signalhub.positions.gateway import BrokerGateway, build_gateway
from signalhub.positions.records import AccountRef, BrokerSnapshot

logger = logging.getLogger("signalhub.positions")

_snapshot_json = TypeAdapter(BrokerSnapshot)


class BrokerUnavailableError(AppError):
    status_code = 503
    code = "broker_unavailable"


@dataclass(frozen=True)
class Reading:
    snapshot: BrokerSnapshot
    stale: bool


class PositionsReader:
    def __init__(
        self,
        gateway: BrokerGateway,
        cache: SnapshotCache,
        *,
        ttl_s: float,
        timeout_s: float,
        stale_after_s: float,
    ) -> None:
        self.gateway = gateway
        self.cache = cache
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.stale_after_s = stale_after_s
        self._inflight: dict[str, asyncio.Task[BrokerSnapshot]] = {}

    def _key(self, link_id: int) -> str:
        return f"{self.gateway.source}:{link_id}"

    async def read(self, account: AccountRef) -> Reading:
        key = self._key(account.link_id)
        cached = await self.cache.fresh(key)
        if cached is not None:
            return self._reading(_snapshot_json.validate_json(cached), failed=False)
        try:
            # Shielded: a reader that gives up does not cancel the read the others wait for.
            snapshot = await asyncio.shield(self._single_flight(account, key))
        except Exception as error:
            last = await self.cache.last(key)
            logger.warning(
                "broker read failed; answering the last snapshot",
                extra={
                    "gateway": str(self.gateway.source),
                    "account_link_id": account.link_id,
                    "error": repr(error),
                    "has_last_snapshot": last is not None,
                },
            )
            if last is None:
                raise BrokerUnavailableError(
                    "The broker did not answer and there is no earlier snapshot of this account."
                ) from error
            return self._reading(_snapshot_json.validate_json(last), failed=True)
        return self._reading(snapshot, failed=False)

    async def remember(self, link_id: int, snapshot: BrokerSnapshot) -> None:
        """A device pushed this snapshot: when it is what the gateway would read next, it becomes
        the cached reading at once rather than after the TTL."""
        if snapshot.source == self.gateway.source:
            await self.cache.put(self._key(link_id), _snapshot_json.dump_json(snapshot), self.ttl_s)

    async def close(self) -> None:
        await self.cache.close()

    def _single_flight(self, account: AccountRef, key: str) -> asyncio.Task[BrokerSnapshot]:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._load(account, key))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: str, task: asyncio.Task[BrokerSnapshot]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, for when every reader gave up waiting

    async def _load(self, account: AccountRef, key: str) -> BrokerSnapshot:
        snapshot = await asyncio.wait_for(self.gateway.read(account), self.timeout_s)
        await self.cache.put(key, _snapshot_json.dump_json(snapshot), self.ttl_s)
        return snapshot

    def _reading(self, snapshot: BrokerSnapshot, *, failed: bool) -> Reading:
        return Reading(snapshot, stale=failed or self._is_old(snapshot.as_of))

    def _is_old(self, as_of: datetime) -> bool:
        return (utcnow() - as_of).total_seconds() > self.stale_after_s


def build_positions_reader(settings: Settings, database: Database) -> PositionsReader:
    return PositionsReader(
        build_gateway(settings.broker_gateway, database, settings.simulated_broker_seed),
        build_snapshot_cache(settings.redis_url),
        ttl_s=settings.positions_cache_ttl_s,
        timeout_s=settings.broker_timeout_s,
        stale_after_s=settings.positions_stale_after_s,
    )
