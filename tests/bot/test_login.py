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


async def start_login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/oauth/mini_app/start", headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/130.0"}
    )
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


async def poll(client: httpx.AsyncClient, started: dict[str, str]) -> httpx.Response:
    signature = hmac.new(
        started["poll_secret"].encode(), started["auth_code"].encode(), hashlib.sha256
    ).hexdigest()
    return await client.post(
        "/oauth/mini_app/callback",
        json={"auth_code": started["auth_code"], "signature": signature},
    )


def login_buttons(telegram_api: FakeTelegramAPI) -> list[dict[str, str]]:
    markup = telegram_api.of("sendMessage")[-1].params["reply_markup"]
    buttons: list[dict[str, str]] = markup["inline_keyboard"][0]
    return buttons


async def test_deep_link_shows_origin_and_match_code_then_confirm_signs_the_browser_in(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    await updates.post(client, updates.command(TRADER, f"/start login_{started['auth_code']}"))

    text = telegram_api.of("sendMessage")[-1].params["text"]
    assert started["match_code"] in text
    assert "Firefox/130.0" in text
    assert "IP address:" in text
    confirm, deny = login_buttons(telegram_api)
    assert (confirm["text"], deny["text"]) == ("Confirm", "Deny")
    assert started["poll_secret"] not in str(confirm)

    await updates.post(client, updates.callback(TRADER, confirm["callback_data"]))
    assert "signed in" in telegram_api.of("editMessageText")[-1].params["text"]

    tokens = await poll(client, started)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["telegram_id"] == TRADER


async def test_deny_in_the_bot_is_access_denied_in_the_browser(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    await updates.post(client, updates.command(TRADER, f"/start login_{started['auth_code']}"))
    _, deny = login_buttons(telegram_api)
    await updates.post(client, updates.callback(TRADER, deny["callback_data"]))
    assert "Denied" in telegram_api.of("editMessageText")[-1].params["text"]
    assert (await poll(client, started)).json()["error"]["code"] == "access_denied"


async def test_an_answered_request_cannot_be_answered_again(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    started = await start_login(client)
    await updates.post(client, updates.command(TRADER, f"/start login_{started['auth_code']}"))
    confirm, deny = login_buttons(telegram_api)
    await updates.post(client, updates.callback(TRADER, confirm["callback_data"]))
    await updates.post(client, updates.callback(TRADER + 1, deny["callback_data"]))
    alert = telegram_api.of("answerCallbackQuery")[-1].params
    assert "already answered" in alert["text"]
    assert (await poll(client, started)).status_code == 200


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
    stale = LoginDecision(auth_code=started["auth_code"], approve=True).pack()
    await updates.post(client, updates.callback(TRADER, stale))
    assert "expired" in telegram_api.of("answerCallbackQuery")[-1].params["text"]
