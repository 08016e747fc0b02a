"""Drains the outbox into the Bot API under Telegram's limits.

At most once: a row is marked `sending` in a committed transaction before its HTTP call and
`sent` after it. A row found in `sending` at start-up belonged to a sender that died mid-send;
Telegram may already have it, so it becomes `interrupted` and is never sent again.

Per batch, not per message: one transaction records the previous batch's deliveries as `sent`
and claims the next batch. A message Telegram accepted stays `sending` until then (at most a
batch's time): a crash in between leaves it `interrupted`, never sent twice. A batch holds
BATCH_SECONDS of sending at the rate the sender actually achieves, so a signal queued behind a
broadcast waits about that long even when the machine cannot keep up with the configured rate.

One active sender per bot: on PostgreSQL a session-level advisory lock, held on a dedicated
connection, elects it and the others stand by; rows are claimed with FOR UPDATE SKIP LOCKED so
even two senders by mistake never take the same row.

A message whose chat is a banned user's is dropped when claimed, whenever it was queued.

Paid broadcasts (TELEGRAM_PAID_BROADCAST_RATE): signal-priority messages go out with
`allow_paid_broadcast`, paced by the paid rate; everything else keeps to the free rate. Every send
counts in both limiters' windows, so neither limit is ever exceeded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageText, Response, SendMessage, SendPhoto
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncConnection

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import OutboxStatus, Priority
from signalhub.ops import metrics
from signalhub.outbox.repository import (
    ClaimedMessage,
    Delivered,
    OutboxRepository,
    advisory_unlock,
    ping,
    try_advisory_lock,
)
from signalhub.users import service as users

logger = logging.getLogger("signalhub.outbox.sender")

# pg_advisory_lock key of the one active sender ("outbox" in ASCII).
SENDER_LOCK_KEY = 0x6F7574626F78
# The per-chat spacing is measured where we send, Telegram's where it receives: a GC pause or a
# busy event loop between taking a slot and writing the request must not bring two messages to
# one chat closer than its interval. (The overall rate needs no margin: see RateLimiter.)
SAFETY_MARGIN = 0.05
# How late a send may start and still keep its slot on the grid.
MAX_LAG_S = 0.01
# Telegram's limits are per second.
WINDOW_S = 1.0
# A claimed batch holds about this many seconds of sending at the achieved rate: a signal queued
# behind a broadcast waits about that long, and a crash interrupts at most that many rows.
BATCH_SECONDS = 0.25
# Weight of the latest full batch in the measured sending rate.
RATE_SMOOTHING = 0.5
# Candidates fetched per slot, so chats still cooling down do not starve the batch.
OVERFETCH = 4
# aiogram parametrizes `Response[...]` on every call, and pydantic caches a parametrized model
# only weakly: each garbage collection dropped it and the next call rebuilt its schema, a tenth
# of the sender's CPU in bench/broadcasts.py. Held here, the sender's are built once.
RESPONSE_MODELS = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (SendMessage, SendPhoto, EditMessageText)
)
PERMANENT_ERRORS = (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge)
# An edit whose original is still on its way waits this long before looking again.
EDIT_WAIT_S = 1.0


class OriginalNotSentYet(Exception):
    """An edit was claimed before the message it edits reached Telegram."""


class NothingToEdit(Exception):
    """The message an edit rewrites was never delivered (dropped, failed, interrupted)."""


class RateLimiter:
    """Evenly spaced start times at `rate` per second, and one pause for everyone on a 429.

    Two guards. A grid of slots `interval` apart keeps the pace smooth. And a send occupies the
    limit from its start until one second after its answer: a new send starts only while fewer
    than `rate` occupy it. Telegram counts a request when it arrives, which is after we start it
    and before we have its answer, so every request that arrives in any 1-second window
    [x, x + 1] ending at or after a send's arrival was still occupying the limit when that send
    started: no window holds more than `rate` arrivals, whatever the delays between our slot,
    the wire and Telegram's clock."""

    def __init__(self, rate_per_s: float) -> None:
        self.interval = 1 / rate_per_s
        self.limit = max(1, math.floor(rate_per_s))
        self.in_flight = 0
        # When each send answered within the last second, oldest first.
        self.answered: deque[float] = deque()
        self.next_at = 0.0
        self.paused_until = 0.0
        self._freed = asyncio.Event()

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.now() + seconds)

    async def wait_unpaused(self) -> None:
        # A 429 arriving meanwhile extends the pause, so look again after each sleep.
        while True:
            left = self.paused_until - self.now()
            if left <= 0:
                return
            await asyncio.sleep(left)

    def occupied(self, now: float) -> int:
        while self.answered and self.answered[0] <= now - WINDOW_S:
            self.answered.popleft()
        return self.in_flight + len(self.answered)

    def started(self) -> None:
        """A send, paced here or by another limiter, occupies this one until `finished`."""
        self.in_flight += 1

    def finished(self) -> None:
        self.in_flight -= 1
        self.answered.append(self.now())
        self._freed.set()

    async def acquire(self) -> None:
        while True:
            now = self.now()
            ready = max(self.next_at, self.paused_until)
            if self.occupied(now) >= self.limit:
                # Full: the oldest answer leaves the window then, or an answer arrives sooner.
                self._freed.clear()
                wait = self.answered[0] + WINDOW_S - now if self.answered else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), wait)
                continue
            if ready <= now:
                # Slots keep to their grid, so sleep overshooting by a millisecond does not eat
                # into the rate; far behind (idle, paused), the grid restarts from now instead
                # of catching up in a burst.
                on_grid = now - ready <= MAX_LAG_S
                self.next_at = (ready if on_grid else now) + self.interval
                self.started()
                return
            await asyncio.sleep(ready - now)


def reply_markup(buttons: list[Any] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(**button) for button in row] for row in buttons]
    )


class OutboxSender:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        bot: Bot,
        *,
        max_attempts: int = 5,
        backoff_s: float = 2.0,
        idle_s: float = 0.2,
        standby_s: float = 5.0,
        lock_check_s: float = 5.0,
    ) -> None:
        self.database = database
        self.bot = bot
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.idle_s = idle_s
        self.standby_s = standby_s
        self.lock_check_s = lock_check_s
        self.limiter = RateLimiter(settings.telegram_rate_per_second)
        paid_rate = settings.telegram_paid_broadcast_rate
        self.paid_limiter = RateLimiter(paid_rate) if paid_rate else None
        self.chat_interval = settings.telegram_chat_interval_s * (1 + SAFETY_MARGIN)
        self.max_batch_size = max(1, math.ceil(settings.telegram_rate_per_second * BATCH_SECONDS))
        # Messages dispatched per second, measured over full batches; the configured rate until
        # the first one.
        self.measured_rate = settings.telegram_rate_per_second
        self.chat_ready_at: dict[int, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.undispatched: deque[int] = deque()
        self.delivered: list[Delivered] = []

    @property
    def batch_size(self) -> int:
        return max(1, min(self.max_batch_size, math.ceil(self.measured_rate * BATCH_SECONDS)))

    async def run(self) -> None:
        """Forever: win the election (PostgreSQL), recover, drain; on any failure start over."""
        while True:
            try:
                if self.database.dialect == "postgresql":
                    await self._run_elected()
                else:
                    await self._lead(None)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox sender failed; restarting")
                await asyncio.sleep(self.standby_s)

    async def _run_elected(self) -> None:
        async with self.database.engine.connect() as connection:
            lock_connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            if not await try_advisory_lock(lock_connection, SENDER_LOCK_KEY):
                logger.debug("another outbox sender is active; standing by")
                await asyncio.sleep(self.standby_s)
                return
            logger.info("outbox sender active")
            try:
                await self._lead(lock_connection)
            finally:
                await advisory_unlock(lock_connection, SENDER_LOCK_KEY)

    async def _lead(self, lock_connection: AsyncConnection | None) -> None:
        await self.recover()
        checked_at = self.limiter.now()
        try:
            while True:
                if lock_connection is not None and (
                    self.limiter.now() - checked_at >= self.lock_check_s
                ):
                    # The lock lives as long as its connection: a dead one means we lost it.
                    await ping(lock_connection)
                    checked_at = self.limiter.now()
                if not await self.dispatch_batch():
                    await asyncio.sleep(self.idle_s)
        finally:
            # Not shielded: the caller that cancelled us waits for this to finish.
            await self._wind_down()

    async def recover(self) -> list[int]:
        delivered, self.delivered = self.delivered, []
        async with self.database.transaction() as session:
            repository = OutboxRepository(session)
            # Deliveries a failed run had not recorded yet are sent, not interrupted.
            await repository.mark_sent(delivered)
            ids = await repository.interrupt_sending(
                "interrupted: the sender stopped while sending; not resent (at most once)"
            )
        if ids:
            logger.warning("outbox rows interrupted mid-send", extra={"outbox_ids": ids})
        return ids

    async def dispatch_batch(self) -> int:
        """Records the deliveries so far, claims one batch (committed as `sending`) and starts
        each send in its rate slot."""
        await self.limiter.wait_unpaused()
        started = self.limiter.now()
        size = self.batch_size
        claim = asyncio.ensure_future(self._claim(size))
        try:
            batch = await asyncio.shield(claim)
        except asyncio.CancelledError:
            # Let the claim commit or roll back whole, so the wind-down knows what we hold.
            await claim
            raise
        for message in batch:
            paid = self.paid_limiter is not None and message.priority == Priority.signal
            await self._take_slot(paid)
            self.chat_ready_at[message.chat_id] = self.limiter.now() + self.chat_interval
            self.undispatched.popleft()
            task = asyncio.create_task(self._send(message, paid))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self._measure(len(batch), size, self.limiter.now() - started)
        return len(batch)

    def _measure(self, dispatched: int, asked: int, elapsed_s: float) -> None:
        # A short batch measures the queue, not the sender.
        if dispatched < asked or dispatched < 2 or elapsed_s <= 0:
            return
        self.measured_rate += RATE_SMOOTHING * (dispatched / elapsed_s - self.measured_rate)

    async def _take_slot(self, paid: bool) -> None:
        if self.paid_limiter is None:
            await self.limiter.acquire()
            return
        pacing, counting = (
            (self.paid_limiter, self.limiter) if paid else (self.limiter, self.paid_limiter)
        )
        await pacing.acquire()
        counting.started()

    async def _claim(self, size: int | None = None) -> list[ClaimedMessage]:
        size = size or self.batch_size
        now = self.limiter.now()
        self.chat_ready_at = {
            chat: ready for chat, ready in self.chat_ready_at.items() if ready > now
        }
        delivered, self.delivered = self.delivered, []
        try:
            async with self.database.transaction() as session:
                repository = OutboxRepository(session)
                await repository.mark_sent(delivered)
                candidates = await repository.claim_due(
                    utcnow(), size * OVERFETCH, self.chat_ready_at.keys()
                )
                # Queued before the ban, or by a path that does not know of it: never sent.
                banned = [
                    message.id for message, recipient_banned in candidates if recipient_banned
                ]
                if banned:
                    await repository.drop(banned, "recipient banned")
                batch = _one_per_chat(
                    [message for message, recipient_banned in candidates if not recipient_banned],
                    size,
                )
                if batch:
                    await repository.mark_sending([message.id for message in batch], utcnow())
        except BaseException:
            # Not recorded yet: the next transaction records them.
            self.delivered = delivered + self.delivered
            raise
        self.undispatched = deque(message.id for message in batch)
        return batch

    async def _deliver(self, message: ClaimedMessage, paid: bool) -> int:
        """Sends the message, or applies the edit; returns the Telegram message id."""
        if message.edit_of_id is None:
            return await self._send_new(message, paid)
        async with self.database.transaction() as session:
            original = await OutboxRepository(session).get(message.edit_of_id)
        if original is not None and original.status in (
            OutboxStatus.pending,
            OutboxStatus.sending,
        ):
            raise OriginalNotSentYet
        if original is None or original.telegram_message_id is None:
            raise NothingToEdit
        await self.bot.edit_message_text(
            text=message.text,
            chat_id=message.chat_id,
            message_id=original.telegram_message_id,
            parse_mode=message.parse_mode,
            reply_markup=reply_markup(message.buttons),
        )
        return original.telegram_message_id

    async def _send_new(self, message: ClaimedMessage, paid: bool) -> int:
        markup = reply_markup(message.buttons)
        # None leaves the field off the request.
        allow_paid_broadcast = True if paid else None
        if message.photo_url is not None:
            sent = await self.bot.send_photo(
                chat_id=message.chat_id,
                photo=message.photo_url,
                caption=message.text,
                parse_mode=message.parse_mode,
                reply_markup=markup,
                allow_paid_broadcast=allow_paid_broadcast,
            )
        else:
            sent = await self.bot.send_message(
                chat_id=message.chat_id,
                text=message.text,
                parse_mode=message.parse_mode,
                reply_markup=markup,
                allow_paid_broadcast=allow_paid_broadcast,
            )
        return sent.message_id

    async def _send(self, message: ClaimedMessage, paid: bool) -> None:
        try:
            telegram_message_id = await self._answered(message, paid)
        except OriginalNotSentYet:
            await self._write_give_back(message, EDIT_WAIT_S)
        except NothingToEdit:
            await self._write_finish(
                message, OutboxStatus.dropped, "the message to edit was never delivered"
            )
        except TelegramRetryAfter as error:
            metrics.telegram_send_errors.labels("flood_429").inc()
            for limiter in (self.limiter, self.paid_limiter):
                if limiter is not None:
                    limiter.pause(error.retry_after)
            logger.warning("telegram flood control", extra={"retry_after": error.retry_after})
            await self._write_give_back(message, error.retry_after)
        except TelegramForbiddenError as error:
            metrics.telegram_send_errors.labels("blocked_403").inc()
            await self._write_blocked(message, error.message)
        except PERMANENT_ERRORS as error:
            metrics.telegram_send_errors.labels("rejected").inc()
            await self._write_finish(message, OutboxStatus.failed, error.message)
        except TelegramNetworkError as error:
            # The request may have reached Telegram: resending could deliver it twice.
            metrics.telegram_send_errors.labels("network").inc()
            await self._write_finish(
                message, OutboxStatus.interrupted, f"network error, not resent: {error.message}"
            )
        except Exception as error:
            metrics.telegram_send_errors.labels("other").inc()
            await self._write_retry(message, f"{type(error).__name__}: {error}")
        else:
            metrics.messages_sent.labels(Priority(message.priority).name).inc()
            self.delivered.append(Delivered(message.id, telegram_message_id, utcnow()))

    async def _answered(self, message: ClaimedMessage, paid: bool) -> int:
        """`_deliver`, and the send stops occupying the limits the moment Telegram answered
        (or the call failed), before the outcome is written."""
        try:
            return await self._deliver(message, paid)
        finally:
            for limiter in (self.limiter, self.paid_limiter):
                if limiter is not None:
                    limiter.finished()

    async def _write_give_back(self, message: ClaimedMessage, retry_after: float) -> None:
        async with self.database.transaction() as session:
            await OutboxRepository(session).give_back(
                [message.id], utcnow() + timedelta(seconds=retry_after)
            )

    async def _write_blocked(self, message: ClaimedMessage, reason: str) -> None:
        async with self.database.transaction() as session:
            repository = OutboxRepository(session)
            await repository.finish(message.id, OutboxStatus.dropped, reason)
            dropped = await repository.drop_pending_for_chat(message.chat_id, reason)
            await users.set_bot_blocked(session, message.chat_id, True)
        logger.info(
            "chat blocked the bot", extra={"chat_id": message.chat_id, "dropped": dropped + 1}
        )

    async def _write_finish(
        self, message: ClaimedMessage, status: OutboxStatus, reason: str
    ) -> None:
        async with self.database.transaction() as session:
            await OutboxRepository(session).finish(message.id, status, reason)
        logger.warning(
            "outbox message not sent",
            extra={"outbox_id": message.id, "status": status.value, "reason": reason},
        )

    async def _write_retry(self, message: ClaimedMessage, reason: str) -> None:
        attempts = message.attempts + 1
        if attempts >= self.max_attempts:
            await self._write_finish(
                message, OutboxStatus.failed, f"{reason} (after {attempts} attempts)"
            )
            return
        delay = self.backoff_s * 2 ** (attempts - 1)
        async with self.database.transaction() as session:
            await OutboxRepository(session).reschedule(
                message.id, utcnow() + timedelta(seconds=delay), reason
            )

    async def _wind_down(self) -> None:
        """A clean stop finishes the calls in flight, records what was delivered and puts
        claimed, unsent rows back."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if not self.delivered and not self.undispatched:
            return
        async with self.database.transaction() as session:
            repository = OutboxRepository(session)
            await repository.mark_sent(self.delivered)
            if self.undispatched:
                await repository.give_back(self.undispatched, utcnow())
        self.delivered = []
        self.undispatched = deque()


def _one_per_chat(candidates: Sequence[ClaimedMessage], limit: int) -> list[ClaimedMessage]:
    """A chat takes one message per interval, so one per batch; the rest wait their turn."""
    chosen: dict[int, ClaimedMessage] = {}
    for message in candidates:
        if message.chat_id not in chosen:
            chosen[message.chat_id] = message
            if len(chosen) == limit:
                break
    return list(chosen.values())
