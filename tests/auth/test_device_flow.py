from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.auth import device_flow
from signalhub.bot.identity import BotIdentity
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import Conflict, NotFound
from signalhub.kit.time import utcnow
from signalhub.models import AuditLog, LoginRefusal, LoginRefusalSource, LoginRequest, User
from signalhub.users import service as users
from tests.factories import create_user

ANNA = 8101
MALLORY = 8666


def sign(poll_secret: str, auth_code: str) -> str:
    return hmac.new(poll_secret.encode(), auth_code.encode(), hashlib.sha256).hexdigest()


async def start(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/oauth/mini_app/start", headers={"User-Agent": "Firefox/130"})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def browser(
    client: httpx.AsyncClient, action: str, started: dict[str, str], signature: str | None = None
) -> httpx.Response:
    """The browser's signed calls: `callback` (the poll), `accept` and `refuse`."""
    return await client.post(
        f"/oauth/mini_app/{action}",
        json={
            "auth_code": started["auth_code"],
            "signature": signature or sign(started["poll_secret"], started["auth_code"]),
        },
    )


async def poll(
    client: httpx.AsyncClient, started: dict[str, str], signature: str | None = None
) -> httpx.Response:
    return await browser(client, "callback", started, signature)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def telegram_user(
    session: AsyncSession, telegram_id: int, first_name: str | None, username: str | None
) -> User:
    return await users.upsert_from_telegram(
        session,
        users.TelegramProfile(telegram_id, username, first_name, "en"),
        admin_telegram_ids=[],
    )


async def rewind_last_poll(session: AsyncSession, auth_code: str, seconds: float = 3) -> None:
    request = await stored(session, auth_code)
    if request.last_polled_at is not None:
        request.last_polled_at -= timedelta(seconds=seconds)
    await session.commit()


async def stored(session: AsyncSession, auth_code: str) -> LoginRequest:
    request = await session.scalar(select(LoginRequest).where(LoginRequest.auth_code == auth_code))
    assert request is not None
    return request


async def test_start_returns_deep_link_without_the_secret(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    assert started["qr_code_url"] == (
        f"https://t.me/signalhub_test_bot?start=login_{started['auth_code']}"
    )
    assert started["poll_secret"] not in started["qr_code_url"]
    assert started["expires_in"] == 300
    assert started["interval"] == 2
    assert len(started["match_code"]) == 7
    assert (await stored(session, started["auth_code"])).user_agent == "Firefox/130"


async def test_stranger_confirms_browser_refuses_right_user_confirms_and_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Login CSRF: Mallory saw the QR code on Anna's screen and confirms first. The browser shows
    Mallory's name, Anna refuses, Mallory is ruled out, Anna confirms and accepts herself."""
    started = await start(client)
    assert error_code(await poll(client, started)) == "authorization_pending"

    mallory = await telegram_user(session, MALLORY, "Mallory", None)
    anna = await telegram_user(session, ANNA, "anna", "anna")
    await device_flow.confirm(session, started["auth_code"], mallory, utcnow())
    await rewind_last_poll(session, started["auth_code"])

    shown = await poll(client, started)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {
        "status": "awaiting_acceptance",
        "account": {"first_name": "Mallory", "username": None, "initial": "M"},
    }
    assert "access_token" not in shown.text

    refused = await browser(client, "refuse", started)
    assert refused.status_code == 204, refused.text
    await rewind_last_poll(session, started["auth_code"])
    assert error_code(await poll(client, started)) == "authorization_pending"
    with pytest.raises(Conflict) as again:
        await device_flow.confirm(session, started["auth_code"], mallory, utcnow())
    assert again.value.code == "login_refused"

    await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    await rewind_last_poll(session, started["auth_code"])
    assert (await poll(client, started)).json()["account"] == {
        "first_name": "anna",
        "username": "anna",
        "initial": "A",
    }

    tokens = await browser(client, "accept", started)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["telegram_id"] == ANNA
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.json()["user"]["telegram_id"] == ANNA

    assert error_code(await browser(client, "accept", started)) == "invalid_grant"
    await rewind_last_poll(session, started["auth_code"])
    assert error_code(await poll(client, started)) == "invalid_grant"
    with pytest.raises(Conflict):
        await device_flow.confirm(session, started["auth_code"], anna, utcnow())

    audit = [
        (entry.action, entry.user_id)
        for entry in await session.scalars(select(AuditLog).order_by(AuditLog.id))
    ]
    assert audit == [("login.browser_refused", mallory.id), ("login.browser_accepted", anna.id)]


async def test_a_strangers_denial_does_not_end_the_sign_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    mallory = await telegram_user(session, MALLORY, "Mallory", "mallory")
    anna = await create_user(session, telegram_id=ANNA)

    await device_flow.decline(session, started["auth_code"], mallory, utcnow())
    await device_flow.decline(session, started["auth_code"], mallory, utcnow())
    assert error_code(await poll(client, started)) == "authorization_pending"

    await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    stranger = await telegram_user(session, MALLORY + 1, "Eve", None)
    await device_flow.decline(session, started["auth_code"], stranger, utcnow())
    await rewind_last_poll(session, started["auth_code"])
    assert (await poll(client, started)).json()["account"]["first_name"] == "Trader"

    tokens = await browser(client, "accept", started)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["telegram_id"] == ANNA
    refusals = (await session.scalars(select(LoginRefusal).order_by(LoginRefusal.id))).all()
    assert [(r.user_id, r.source) for r in refusals] == [
        (mallory.id, LoginRefusalSource.declined_in_bot),
        (stranger.id, LoginRefusalSource.declined_in_bot),
    ]
    with pytest.raises(Conflict) as declined:
        await device_flow.confirm(session, started["auth_code"], mallory, utcnow())
    assert declined.value.code == "login_already_used"


async def test_a_user_who_declines_cannot_confirm_afterwards(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    mallory = await create_user(session, telegram_id=MALLORY)
    await device_flow.decline(session, started["auth_code"], mallory, utcnow())
    with pytest.raises(Conflict) as declined:
        await device_flow.pending_request(session, started["auth_code"], mallory, utcnow())
    assert declined.value.message == "You declined this sign-in request."


async def test_the_confirming_user_can_withdraw_by_declining(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    anna = await create_user(session, telegram_id=ANNA)
    await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    await device_flow.decline(session, started["auth_code"], anna, utcnow())
    await session.commit()
    assert error_code(await poll(client, started)) == "authorization_pending"
    withdrawn = await browser(client, "accept", started)
    assert withdrawn.status_code == 409
    assert error_code(withdrawn) == "login_not_confirmed"


async def test_accept_or_refuse_without_a_confirmation_is_refused(
    client: httpx.AsyncClient,
) -> None:
    started = await start(client)
    for action in ("accept", "refuse"):
        response = await browser(client, action, started)
        assert response.status_code == 409, response.text
        assert error_code(response) == "login_not_confirmed"
        assert "access_token" not in response.text


async def test_accept_and_refuse_need_the_poll_secret(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Whoever only saw the QR code knows the auth code, not the secret: they can neither accept
    their own confirmation nor refuse the right user's."""
    started = await start(client)
    anna = await create_user(session, telegram_id=ANNA)
    await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    await session.commit()
    forged = sign("seen-on-screen", started["auth_code"])
    for action in ("accept", "refuse", "callback"):
        response = await browser(client, action, started, signature=forged)
        assert response.status_code == 400
        assert error_code(response) == "invalid_signature"
    unknown = await browser(client, "accept", {**started, "auth_code": "made-up-code"})
    assert error_code(unknown) == "invalid_grant"
    assert (await stored(session, started["auth_code"])).user_id == anna.id


async def test_polling_too_fast_is_slow_down(client: httpx.AsyncClient) -> None:
    started = await start(client)
    assert error_code(await poll(client, started)) == "authorization_pending"
    assert error_code(await poll(client, started)) == "slow_down"


async def test_expired_code_is_expired_token_for_poll_accept_and_the_bot(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    anna = await create_user(session, telegram_id=ANNA)
    await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    request = await stored(session, started["auth_code"])
    request.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()
    for action in ("callback", "accept", "refuse"):
        assert error_code(await browser(client, action, started)) == "expired_token"
    with pytest.raises(NotFound):
        await device_flow.pending_request(session, started["auth_code"], anna, utcnow())
    with pytest.raises(NotFound):
        await device_flow.decline(session, started["auth_code"], anna, utcnow())


async def test_forged_code_and_wrong_signature_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    assert error_code(await poll(client, {**started, "auth_code": "made-up-code"})) == (
        "invalid_grant"
    )
    wrong = await poll(client, started, signature=sign("guessed-secret", started["auth_code"]))
    assert wrong.status_code == 400
    assert error_code(wrong) == "invalid_signature"


async def test_the_bot_explains_who_already_confirmed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    anna = await create_user(session, telegram_id=ANNA)
    mallory = await create_user(session, telegram_id=MALLORY)
    await device_flow.confirm(session, started["auth_code"], mallory, utcnow())
    with pytest.raises(Conflict) as other:
        await device_flow.confirm(session, started["auth_code"], anna, utcnow())
    assert other.value.code == "login_already_confirmed"
    assert "Not me" in other.value.message
    with pytest.raises(Conflict) as same:
        await device_flow.pending_request(session, started["auth_code"], mallory, utcnow())
    assert "accept the sign-in in your browser" in same.value.message


async def test_an_account_without_a_first_name_still_has_a_name_and_initial(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    nameless = await telegram_user(session, 8200, None, None)
    await device_flow.confirm(session, started["auth_code"], nameless, utcnow())
    await session.commit()
    assert (await poll(client, started)).json()["account"] == {
        "first_name": "Telegram user",
        "username": None,
        "initial": "T",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"auth_code": "a\x00b", "signature": "ab"},
        {"auth_code": "a" * 65, "signature": "ab"},
        {"auth_code": "a", "signature": "f" * 129},
        {"auth_code": 2**70, "signature": "ab"},
        {"auth_code": ["a"], "signature": "ab"},
        {"auth_code": "a"},
        {},
    ],
)
async def test_hostile_bodies_are_a_4xx_with_the_error_body(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    for action in ("callback", "accept", "refuse"):
        response = await client.post(f"/oauth/mini_app/{action}", json=body)
        assert 400 <= response.status_code < 500, (action, body, response.text)
        assert set(response.json()["error"]) >= {"code", "message"}


async def test_start_without_bot_username_is_503(
    client: httpx.AsyncClient,
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.bot_identity = BotIdentity(None, None)
    response = await client.post("/oauth/mini_app/start")
    assert response.status_code == 503
    assert error_code(response) == "telegram_not_configured"


async def test_sign_in_endpoints_are_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.settings = app.state.settings.model_copy(update={"signin_rate_limit_per_minute": 3})
    statuses = [(await client.post("/oauth/mini_app/start")).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    limited = await client.post("/api/v1/auth/telegram", json={"init_data": "x"})
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"


async def test_purge_removes_only_long_expired_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fresh = await start(client)
    old = await start(client)
    request = await stored(session, old["auth_code"])
    request.expires_at = utcnow() - timedelta(days=2)
    await session.flush()
    assert await device_flow.purge_expired(session, utcnow()) == 1
    remaining = (await session.scalars(select(LoginRequest.auth_code))).all()
    assert fresh["auth_code"] in remaining
    assert old["auth_code"] not in remaining


@pytest.mark.postgres
async def test_two_confirmations_at_once_one_wins(
    committing_database: Database, settings: Settings
) -> None:
    """Anna and Mallory tap Confirm at the same instant: one account is confirmed, the other is
    told someone else was first, and the browser is shown the winner."""
    app = create_app(settings, committing_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for round_ in range(5):
            started = await start(client)
            async with committing_database.transaction() as session:
                contenders = [
                    await create_user(session, telegram_id=9000 + round_ * 10 + n) for n in range(4)
                ]

            async def confirm(user: User, auth_code: str = started["auth_code"]) -> str:
                try:
                    async with committing_database.transaction() as session:
                        await device_flow.confirm(session, auth_code, user, utcnow())
                except Conflict as conflict:
                    return conflict.code
                return "confirmed"

            outcomes = await asyncio.gather(*(confirm(user) for user in contenders))
            assert sorted(outcomes) == ["confirmed"] + ["login_already_confirmed"] * 3
            winner = contenders[outcomes.index("confirmed")]
            accepts = await asyncio.gather(*(browser(client, "accept", started) for _ in range(4)))
            statuses = sorted(response.status_code for response in accepts)
            assert statuses == [200, 400, 400, 400]
            tokens = next(response for response in accepts if response.status_code == 200)
            assert tokens.json()["user"]["id"] == winner.id
