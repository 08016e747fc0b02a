"""The bot's @username, needed for deep links and the QR sign-in. `TELEGRAM_BOT_USERNAME` wins
when set; otherwise the token already identifies the bot, so Telegram's `getMe` is asked once at
start-up and, if Telegram did not answer then, again on first use; the answer is kept for the
life of the process."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

logger = logging.getLogger("signalhub.bot.identity")

GET_ME_TIMEOUT_S = 5
# After Telegram failed to answer, a burst of sign-ins must not become a burst of getMe calls.
RETRY_AFTER_S = 30.0


class BotIdentity:
    def __init__(
        self, configured: str | None, bot: Bot | None, *, retry_after_s: float = RETRY_AFTER_S
    ) -> None:
        self._username = configured
        self._bot = bot
        self._retry_after_s = retry_after_s
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    async def username(self) -> str | None:
        """None without a bot token, or while Telegram cannot be reached."""
        if self._username is not None or self._bot is None:
            return self._username
        async with self._lock:
            if self._username is None and not self._failed_recently():
                await self._ask_telegram(self._bot)
        return self._username

    def _failed_recently(self) -> bool:
        loop_time = asyncio.get_running_loop().time()
        return self._failed_at is not None and loop_time - self._failed_at < self._retry_after_s

    async def _ask_telegram(self, bot: Bot) -> None:
        try:
            me = await bot.get_me(request_timeout=GET_ME_TIMEOUT_S)
        except (TelegramAPIError, TimeoutError) as error:
            self._failed_at = asyncio.get_running_loop().time()
            logger.warning(
                "telegram getMe failed; the bot's username is unknown until it answers",
                extra={"error": f"{type(error).__name__}: {error}"},
            )
            return
        self._username = me.username
        logger.info("bot identified with getMe", extra={"bot_username": me.username})
