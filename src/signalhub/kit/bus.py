"""The live-update bus (ARCHITECTURE.md 6a): publish and subscribe by channel name.

A change a client is waiting for (a new approval, a decision, an approved signal for an EA) is
published on a channel, e.g. `user:42`; whoever holds an open stream or long poll for that
channel wakes up and re-reads the database. The bus is an accelerator, never the source of
truth: a lost message only means the client learns at its next poll.

    async with bus.subscribe("user:42", "signals") as subscription:
        message = await subscription.get(within_s=25)   # a BusMessage, or None on timeout

Services never publish directly: `publish_after_commit(session, channel, data)` queues the
message on the session and the transaction owner (`Database.transaction`) publishes it once
the change is committed, so nobody is woken up to read a change that is not there (yet).

`MemoryBus` serves one process (the embedded default, tests). `RedisBus` bridges processes
through Redis pub/sub when `SIGNALHUB_REDIS_URL` is set: a message published by any API
instance or worker reaches the subscribers of every instance."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("signalhub.bus")

PENDING_KEY = "signalhub.bus.pending"
# Messages a slow subscriber may fall behind by; older ones are dropped (it re-reads anyway).
QUEUE_SIZE = 100
REDIS_PREFIX = "signalhub:live:"
RECONNECT_S = 1.0


@dataclass(frozen=True)
class BusMessage:
    channel: str
    data: dict[str, Any]


class Subscription:
    """The messages of the channels subscribed to, in the order they arrived."""

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self._queue: asyncio.Queue[BusMessage] = asyncio.Queue(QUEUE_SIZE)

    def deliver(self, message: BusMessage) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(message)

    async def get(self, within_s: float | None = None) -> BusMessage | None:
        """The next message, or None when `within_s` seconds pass without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), within_s)
        except TimeoutError:
            return None


class MemoryBus:
    """One process: a message reaches the subscriptions open in this process."""

    def __init__(self) -> None:
        self._subscriptions: defaultdict[str, set[Subscription]] = defaultdict(set)

    async def close(self) -> None:
        self._subscriptions.clear()

    async def publish(self, channel: str, data: dict[str, Any]) -> None:
        await self.publish_many([BusMessage(channel, data)])

    async def publish_many(self, messages: Iterable[BusMessage]) -> None:
        for message in messages:
            self._deliver(message)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channels)
        for channel in channels:
            self._subscriptions[channel].add(subscription)
            await self._first_subscriber(channel)
        try:
            yield subscription
        finally:
            for channel in channels:
                subscribers = self._subscriptions.get(channel)
                if subscribers is None:
                    continue
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[channel]
                    await self._last_subscriber_left(channel)

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscriptions.get(channel, ()))

    def _deliver(self, message: BusMessage) -> None:
        for subscription in tuple(self._subscriptions.get(message.channel, ())):
            subscription.deliver(message)

    async def _first_subscriber(self, channel: str) -> None:
        """Hook for `RedisBus`: start listening to `channel`."""

    async def _last_subscriber_left(self, channel: str) -> None:
        """Hook for `RedisBus`: stop listening to `channel`."""


class RedisBus(MemoryBus):
    """Several processes: messages go through Redis PUBLISH; each process subscribes in Redis
    to the channels its own subscribers listen to, and hands what arrives to them."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis: Redis = Redis.from_url(url)
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def _start_listening(self) -> None:
        """On the first subscription: a process that only publishes never listens."""
        self._listener = asyncio.create_task(self._listen(), name="bus_listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await super().close()
        await self._redis.aclose()

    async def publish_many(self, messages: Iterable[BusMessage]) -> None:
        batch = list(messages)
        if not batch:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipeline:
                for message in batch:
                    pipeline.publish(REDIS_PREFIX + message.channel, json.dumps(message.data))
                await pipeline.execute()
        except RedisError:
            # The change is committed; subscribers will see it at their next poll.
            logger.warning("live update not published", exc_info=True)

    async def _first_subscriber(self, channel: str) -> None:
        if self._listener is None:
            await self._start_listening()  # subscribes to every channel wanted so far
            return
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.subscribe(REDIS_PREFIX + channel)

    async def _last_subscriber_left(self, channel: str) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.unsubscribe(REDIS_PREFIX + channel)

    async def _listen(self) -> None:
        """Forever: connect, subscribe to what local subscribers want, relay; on a lost
        connection, reconnect and subscribe again."""
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                # A channel of our own keeps the connection subscribed while nobody listens.
                wanted = self._redis_channels()
                await pubsub.subscribe(REDIS_PREFIX + "_", *wanted)
                self._pubsub = pubsub
                # Channels first wanted while that subscription was on its way.
                missed = set(self._redis_channels()) - set(wanted)
                if missed:
                    await pubsub.subscribe(*missed)
                self._connected.set()
                async for raw in pubsub.listen():
                    self._relay(raw)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                logger.warning("live-update bus lost Redis; reconnecting", exc_info=True)
            finally:
                self._pubsub = None
                self._connected.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RECONNECT_S)

    def _redis_channels(self) -> list[str]:
        return [REDIS_PREFIX + channel for channel in self._subscriptions]

    def _relay(self, raw: dict[str, Any]) -> None:
        if raw.get("type") != "message":
            return
        channel = raw["channel"].decode()[len(REDIS_PREFIX) :]
        try:
            data = json.loads(raw["data"])
        except ValueError:
            logger.warning("live update with a body that is not JSON", extra={"channel": channel})
            return
        self._deliver(BusMessage(channel, data))


Bus = MemoryBus


def user_channel(user_id: int) -> str:
    """One user's channel: their approvals changed, their account was banned."""
    return f"user:{user_id}"


def build_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else MemoryBus()


def publish_after_commit(session: AsyncSession, channel: str, data: dict[str, Any]) -> None:
    """Queues a message for the transaction owner to publish once `session` has committed."""
    session.info.setdefault(PENDING_KEY, []).append(BusMessage(channel, data))


def take_pending(session: AsyncSession) -> list[BusMessage]:
    pending: list[BusMessage] = session.info.pop(PENDING_KEY, [])
    return pending
