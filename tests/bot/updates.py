"""Update JSON shaped as Telegram sends it, posted to the webhook like Telegram does."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from tests.conftest import TEST_WEBHOOK_SECRET
from tests.fakes.telegram_api import BOT_ID

_update_ids = itertools.count(500_000)
_message_ids = itertools.count(7000)


def sender(
    telegram_id: int, first_name: str = "Trader", language_code: str | None = "en"
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": telegram_id,
        "is_bot": False,
        "first_name": first_name,
        "username": f"trader{telegram_id}",
    }
    if language_code is not None:
        user["language_code"] = language_code
    return user


def _chat(telegram_id: int) -> dict[str, Any]:
    return {"id": telegram_id, "first_name": "Trader", "type": "private"}


def _message(
    telegram_id: int, *, language_code: str | None = "en", **fields: Any
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_message_ids),
            "from": sender(telegram_id, language_code=language_code),
            "chat": _chat(telegram_id),
            "date": int(time.time()),
            **fields,
        },
    }


def command(telegram_id: int, text: str, language_code: str | None = "en") -> dict[str, Any]:
    length = len(text.split(" ", 1)[0])
    return _message(
        telegram_id,
        language_code=language_code,
        text=text,
        entities=[{"offset": 0, "length": length, "type": "bot_command"}],
    )


def reply(
    telegram_id: int, text: str, to_bot_text: str, language_code: str | None = "en"
) -> dict[str, Any]:
    """Plain text answering one of the bot's messages (as a ForceReply prompt makes it)."""
    return _message(
        telegram_id,
        language_code=language_code,
        text=text,
        reply_to_message={
            "message_id": next(_message_ids),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Signalhub"},
            "chat": _chat(telegram_id),
            "date": int(time.time()),
            "text": to_bot_text,
        },
    )


def callback(
    telegram_id: int, data: str, language_code: str | None = "en", message_id: int | None = None
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_message_ids)),
            "from": sender(telegram_id, language_code=language_code),
            "chat_instance": "-5417180931298131405",
            "data": data,
            "message": {
                "message_id": message_id or next(_message_ids),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Signalhub"},
                "chat": _chat(telegram_id),
                "date": int(time.time()),
                "text": "Plans:",
            },
        },
    }


def pre_checkout(
    telegram_id: int, payload: str, total_amount: int, currency: str = "XTR"
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "pre_checkout_query": {
            "id": f"pcq{next(_message_ids)}",
            "from": sender(telegram_id),
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
        },
    }


def successful_payment(
    telegram_id: int,
    payload: str,
    total_amount: int,
    charge_id: str,
    *,
    is_recurring: bool = False,
) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "currency": "XTR",
        "total_amount": total_amount,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge_id,
        "provider_payment_charge_id": "",
    }
    if is_recurring:
        payment["is_recurring"] = True
        payment["subscription_expiration_date"] = int(time.time()) + 30 * 86400
    return _message(telegram_id, successful_payment=payment)


def refunded_payment(
    telegram_id: int, payload: str, total_amount: int, charge_id: str
) -> dict[str, Any]:
    return _message(
        telegram_id,
        refunded_payment={
            "currency": "XTR",
            "total_amount": total_amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id,
        },
    )


def my_chat_member(telegram_id: int, old: str, new: str) -> dict[str, Any]:
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Signalhub"}
    now = int(time.time())
    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": _chat(telegram_id),
            "from": sender(telegram_id),
            "date": now,
            "old_chat_member": _member(old, bot_user, now),
            "new_chat_member": _member(new, bot_user, now),
        },
    }


def _member(status: str, user: dict[str, Any], now: int) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    return member


async def post(
    client: httpx.AsyncClient, update: Any, secret: str | None = TEST_WEBHOOK_SECRET
) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return await client.post("/telegram/webhook", json=update, headers=headers)
