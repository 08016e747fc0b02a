"""Browser sign-in confirmed in the bot: the real dispatcher, real-shaped updates, the fake API."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.bot.routers.login import LoginDecision
from signalhub.kit.time import utcnow
from signalhub.models import LoginRequest
from tests.bot import updates
from tests.fakes.telegram_api import FakeTelegramAPI

TRADER = 555_301
STRANGER = 555_666


async def start_login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/oauth/mini_app/start", headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/130.0"}
    )
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


async def browser(
    client: httpx.AsyncClient, started: dict[str, str], action: str = "callback"
) -> httpx.Response:
    """The browser's poll (`callback`), `accept` or `refuse`, signed with its poll secret."""
    signature = hmac.new(
        started["poll_secret"].encode(), started["auth_code"].encode(), hashlib.sha256
    ).hexdigest()
    return await client.post(
        f"/oauth/mini_app/{action}",
        json={"auth_code": started["auth_code"], "signature": signature},
    )


def login_buttons(telegram_api: FakeTelegramAPI) -> list[dict[str, str]]:
    markup = telegram_api.of("sendMessage")[-1].params["reply_markup"]
    buttons: list[dict[str, str]] = markup["inline_keyboard"][0]
    return buttons


async def open_link(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI, telegram_id: int, auth_code: str
) -> str:
    await updates.post(client, updates.command(telegram_id, f"/start login_{auth_code}"))
    text: str = telegram_api.of("sendMessage")[-1].params["text"]
    return text


def last_alert(telegram_api: FakeTelegramAPI) -> str:
    text: str = telegram_api.of("answerCallbackQuery")[-1].params["text"]
    return text


async def test_deep_link_shows_origin_and_match_code_then_confirm_and_browser_accepts(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    text = await open_link(client, telegram_api, TRADER, started["auth_code"])
    assert started["match_code"] in text
    assert "Firefox/130.0" in text
    assert "IP address:" in text
    assert "accept" in text
    confirm, deny = login_buttons(telegram_api)
    assert (confirm["text"], deny["text"]) == ("Confirm", "Deny")
    assert started["poll_secret"] not in str(confirm)

    await updates.post(client, updates.callback(TRADER, confirm["callback_data"]))
    edited = telegram_api.of("editMessageText")[-1].params["text"]
    assert "accept signing in as you" in edited

    shown = await browser(client, started)
    assert shown.status_code == 200, shown.text
    assert shown.json()["account"] == {
        "first_name": "Trader",
        "username": f"trader{TRADER}",
        "initial": "T",
    }
    tokens = await browser(client, started, "accept")
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["telegram_id"] == TRADER


async def test_a_strangers_deny_leaves_the_sign_in_open_for_the_right_user(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    await open_link(client, telegram_api, STRANGER, started["auth_code"])
    _, deny = login_buttons(telegram_api)
    await updates.post(client, updates.callback(STRANGER, deny["callback_data"]))
    assert "will not be signed in as you" in telegram_api.of("editMessageText")[-1].params["text"]
    assert (await browser(client, started)).json()["error"]["code"] == "authorization_pending"

    assert "You declined" in await open_link(client, telegram_api, STRANGER, started["auth_code"])
    await open_link(client, telegram_api, TRADER, started["auth_code"])
    confirm, _ = login_buttons(telegram_api)
    await updates.post(client, updates.callback(TRADER, confirm["callback_data"]))
    tokens = await browser(client, started, "accept")
    assert tokens.json()["user"]["telegram_id"] == TRADER


async def test_a_confirmation_refused_in_the_browser_lets_the_right_user_confirm(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    await open_link(client, telegram_api, STRANGER, started["auth_code"])
    confirm, _ = login_buttons(telegram_api)
    await updates.post(client, updates.callback(STRANGER, confirm["callback_data"]))

    opened_by_owner = await open_link(client, telegram_api, TRADER, started["auth_code"])
    assert opened_by_owner.startswith("Another Telegram account already confirmed")
    assert opened_by_owner.endswith("then open the link again.")
    assert (await browser(client, started, "refuse")).status_code == 204

    await updates.post(client, updates.callback(STRANGER, confirm["callback_data"]))
    assert "did not accept your account" in last_alert(telegram_api)
    await open_link(client, telegram_api, TRADER, started["auth_code"])
    owner_confirm, _ = login_buttons(telegram_api)
    await updates.post(client, updates.callback(TRADER, owner_confirm["callback_data"]))
    tokens = await browser(client, started, "accept")
    assert tokens.json()["user"]["telegram_id"] == TRADER

    await updates.post(client, updates.callback(TRADER, owner_confirm["callback_data"]))
    assert "already completed" in last_alert(telegram_api)


async def test_unknown_or_expired_links_are_explained(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.command(TRADER, "/start login_not-a-real-code"))
    assert "expired or does not exist" in telegram_api.of("sendMessage")[-1].params["text"]

    started = await start_login(client)
    request = await session.scalar(
        select(LoginRequest).where(LoginRequest.auth_code == started["auth_code"])
    )
    assert request is not None
    request.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()
    for approve in (True, False):
        stale = LoginDecision(auth_code=started["auth_code"], approve=approve).pack()
        await updates.post(client, updates.callback(TRADER, stale))
        assert "expired" in last_alert(telegram_api)
