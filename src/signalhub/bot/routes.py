"""`POST /telegram/webhook`: checks Telegram's secret header and feeds the update to the bot."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram.types import Update
from fastapi import APIRouter, Request
from pydantic import ValidationError

from signalhub.bot.dispatcher import TelegramBot
from signalhub.dependencies import SettingsDep
from signalhub.errors import AppError, Unauthorized, error_responses
from signalhub.kit.schemas import RAW_JSON_BODY
from signalhub.kit.text import display_text

router = APIRouter(tags=["telegram"])
logger = logging.getLogger("signalhub.bot")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


class TelegramDisabled(AppError):
    status_code = 503
    code = "telegram_disabled"


class MalformedUpdate(AppError):
    status_code = 400
    code = "malformed_update"


@router.post(
    "/telegram/webhook",
    responses=error_responses(
        400,
        401,
        503,
        described={
            400: "malformed_update: the body is not a Telegram Update",
            401: "bad_webhook_secret: X-Telegram-Bot-Api-Secret-Token is wrong or missing",
            503: "telegram_disabled: no bot token or webhook secret is configured",
        },
    ),
    openapi_extra=RAW_JSON_BODY,
)
async def telegram_webhook(request: Request, settings: SettingsDep) -> dict[str, bool]:
    """Handled before answering: every handler is a few queries and at most one Bot API call,
    well inside Telegram's patience, and an unexpected error answers 5xx so Telegram
    redelivers (handlers are idempotent). The bot's session middleware owns the transaction."""
    telegram: TelegramBot | None = request.app.state.telegram
    secret = settings.telegram_webhook_secret
    if telegram is None or secret is None:
        raise TelegramDisabled("The Telegram bot is not configured.")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise Unauthorized("Bad or missing webhook secret.", code="bad_webhook_secret")
    try:
        body = _storable(json.loads(await request.body()))
        update = Update.model_validate(body, context={"bot": telegram.bot})
    except (ValueError, ValidationError) as error:
        raise MalformedUpdate("The body is not a Telegram Update.") from error
    try:
        await telegram.dispatcher.feed_update(telegram.bot, update)
    except AppError as error:
        # A domain refusal (rolled back by the bot's session middleware) is final: answering
        # an error would only make Telegram redeliver the same update again and again.
        logger.warning(
            "telegram update refused",
            extra={"update_id": update.update_id, "code": error.code, "reason": error.message},
        )
    return {"ok": True}


def _storable(value: Any) -> Any:
    """The update as we can store it. Its text is display text (names, captions, messages), so
    NUL and unpaired surrogates are dropped, not refused; an integer beyond BIGINT is no
    Telegram id or date, so the update is malformed."""
    if isinstance(value, str):
        return display_text(value)
    if isinstance(value, dict):
        return {display_text(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if type(value) is int and not -(2**63) <= value <= 2**63 - 1:
        raise ValueError("integer out of range")
    return value
