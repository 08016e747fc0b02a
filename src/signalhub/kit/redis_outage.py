"""What a Redis-backed part does while Redis does not answer: it falls back to a stand-in, logs
the outage once (and its end once), and asks Redis again only every few seconds, so an outage
costs one connection attempt per process per period instead of one per request."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Short, so the shared state is back soon after Redis is.
REDIS_RETRY_AFTER_S = 5.0
# A Redis that accepts connections but never answers would otherwise hold every request.
REDIS_TIMEOUT_S = 0.5


def connect(url: str, timeout_s: float = REDIS_TIMEOUT_S) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)


class RedisOutage:
    def __init__(
        self, *, while_down: str, when_back: str, retry_after_s: float = REDIS_RETRY_AFTER_S
    ) -> None:
        self._while_down = while_down
        self._when_back = when_back
        self._retry_after_s = retry_after_s
        # Monotonic time before which Redis is not asked; None while Redis answers.
        self._retry_at: float | None = None

    @property
    def skipping(self) -> bool:
        """True while the last failure is recent: use the stand-in without asking Redis."""
        return self._retry_at is not None and time.monotonic() < self._retry_at

    def failed(self, error: RedisError) -> None:
        if self._retry_at is None:
            logger.warning(
                "redis unreachable: " + self._while_down,
                extra={"error": type(error).__name__, "retry_after_s": self._retry_after_s},
            )
        self._retry_at = time.monotonic() + self._retry_after_s

    def answered(self) -> None:
        if self._retry_at is not None:
            self._retry_at = None
            logger.info("redis answers again: " + self._when_back)
