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
instance or worker reaches the subscribers of every instance.

A subscriber that must not miss a message (a cache dropping what changed) asks
`delivery_epoch(channel)`: None while a message on the channel could be lost (Redis is not
answering), otherwise a number that changes whenever messages may have been lost since."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("signalhub.bus")

PENDING_KEY = "signalhub.bus.pending"
# Messages a slow subscriber may fall behind by; older ones are dropped (it re-reads anyway).
QUEUE_SIZE = 100
REDIS_PREFIX = "signalhub:live:"
KEEP_ALIVE_CHANNEL = REDIS_PREFIX + "_"
RECONNECT_S = 1.0


@dataclass(frozen=True)
class BusMessage:
    channel: str
    data: dict[str, Any]


class Subscriber(Protocol):
    """What the bus hands messages to, synchronously, as they arrive."""

    @property
    def channels(self) -> tuple[str, ...]: ...

    def deliver(self, message: BusMessage) -> None: ...


SubscriberT = TypeVar("SubscriberT", bound=Subscriber)


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

    crosses_processes = False

    def __init__(self) -> None:
        self._subscriptions: defaultdict[str, set[Subscriber]] = defaultdict(set)

    async def close(self) -> None:
        self._subscriptions.clear()

    async def publish(self, channel: str, data: dict[str, Any]) -> None:
        await self.publish_many([BusMessage(channel, data)])

    async def publish_many(self, messages: Iterable[BusMessage]) -> None:
        for message in messages:
            self._deliver(message)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        async with self.attached(Subscription(channels)) as subscription:
            yield subscription

    @asynccontextmanager
    async def attached(
        self, subscriber: SubscriberT, *, wait: bool = True
    ) -> AsyncIterator[SubscriberT]:
        """`subscriber.deliver` is called with every message of its channels until exit. With
        `wait`, it starts once a bridged bus is listening (or has tried for a few seconds);
        without, at once, and `delivery_epoch` says from when nothing is missed."""
        for channel in subscriber.channels:
            self._subscriptions[channel].add(subscriber)
            await self._first_subscriber(channel, wait)
        try:
            yield subscriber
        finally:
            for channel in subscriber.channels:
                subscribers = self._subscriptions.get(channel)
                if subscribers is None:
                    continue
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._subscriptions[channel]
                    await self._last_subscriber_left(channel)

    def delivery_epoch(self, channel: str) -> int | None:
        """In one process nothing published is ever lost."""
        return 0

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscriptions.get(channel, ()))

    def _deliver(self, message: BusMessage) -> None:
        for subscription in tuple(self._subscriptions.get(message.channel, ())):
            subscription.deliver(message)

    async def _first_subscriber(self, channel: str, wait: bool) -> None:
        """Hook for `RedisBus`: start listening to `channel`."""

    async def _last_subscriber_left(self, channel: str) -> None:
        """Hook for `RedisBus`: stop listening to `channel`."""


class RedisBus(MemoryBus):
    """Several processes: messages go through Redis PUBLISH; each process subscribes in Redis
    to the channels its own subscribers listen to, and hands what arrives to them."""

    crosses_processes = True

    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis: Redis = Redis.from_url(url)
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        # Channels Redis confirmed subscribing this connection to: from the confirmation on, it
        # relays every message published on them, in order, until the connection is lost.
        self._confirmed: set[str] = set()
        self._connection_count = 0

    async def _start_listening(self, wait: bool) -> None:
        """On the first subscription: a process that only publishes never listens."""
        self._listener = asyncio.create_task(self._listen(), name="bus_listener")
        if wait:
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

    async def _first_subscriber(self, channel: str, wait: bool) -> None:
        if self._listener is None:
            await self._start_listening(wait)  # subscribes to every channel wanted so far
            return
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.subscribe(REDIS_PREFIX + channel)

    async def _last_subscriber_left(self, channel: str) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.unsubscribe(REDIS_PREFIX + channel)

    def delivery_epoch(self, channel: str) -> int | None:
        """The connection's number while Redis has confirmed the subscription to `channel` on
        it; a lost connection loses what was published until the next one subscribes."""
        if REDIS_PREFIX + channel in self._confirmed:
            return self._connection_count
        return None

    async def _listen(self) -> None:
        """Forever: connect, subscribe to what local subscribers want, relay; on a lost
        connection, reconnect and subscribe again."""
        while True:
            # Subscription confirmations are read too: see delivery_epoch.
            pubsub = self._redis.pubsub()
            self._connection_count += 1
            try:
                # A channel of our own keeps the connection subscribed while nobody listens.
                # Last: Redis confirms the channels in order, so its confirmation (`_relay`)
                # means the connection is subscribed to everything wanted so far.
                wanted = self._redis_channels()
                await pubsub.subscribe(*wanted, KEEP_ALIVE_CHANNEL)
                self._pubsub = pubsub
                # Channels first wanted while that subscription was on its way.
                missed = set(self._redis_channels()) - set(wanted)
                if missed:
                    await pubsub.subscribe(*missed)
                async for raw in pubsub.listen():
                    self._relay(raw)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                logger.warning("live-update bus lost Redis; reconnecting", exc_info=True)
            finally:
                self._pubsub = None
                self._confirmed.clear()
                self._connected.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RECONNECT_S)

    def _redis_channels(self) -> list[str]:
        return [REDIS_PREFIX + channel for channel in self._subscriptions]

    def _relay(self, raw: dict[str, Any]) -> None:
        kind = raw.get("type")
        if kind == "subscribe":
            confirmed = raw["channel"].decode()
            self._confirmed.add(confirmed)
            if confirmed == KEEP_ALIVE_CHANNEL:
                self._connected.set()
            return
        if kind == "unsubscribe":
            self._confirmed.discard(raw["channel"].decode())
            return
        if kind != "message":
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


# Whatever signs a user in or describes them to themselves changed (ban, role, tier, profile):
# every process drops its cached copy (users.cache).
USER_CHANGES_CHANNEL = "users.changed"


def publish_user_changed(session: AsyncSession, user_id: int) -> None:
    publish_after_commit(session, USER_CHANGES_CHANNEL, {"user_id": user_id})


def build_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else MemoryBus()


def publish_after_commit(session: AsyncSession, channel: str, data: dict[str, Any]) -> None:
    """Queues a message for the transaction owner to publish once `session` has committed."""
    session.info.setdefault(PENDING_KEY, []).append(BusMessage(channel, data))


def take_pending(session: AsyncSession) -> list[BusMessage]:
    pending: list[BusMessage] = session.info.pop(PENDING_KEY, [])
    return pending
