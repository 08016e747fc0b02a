from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import device_flow
from signalhub.bot.identity import BotIdentity
from signalhub.errors import Conflict, NotFound
from signalhub.kit.time import utcnow
from signalhub.models import LoginRequest
from tests.factories import create_user


def sign(poll_secret: str, auth_code: str) -> str:
    return hmac.new(poll_secret.encode(), auth_code.encode(), hashlib.sha256).hexdigest()


async def start(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/oauth/mini_app/start", headers={"User-Agent": "Firefox/130"})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def poll(
    client: httpx.AsyncClient, started: dict[str, str], signature: str | None = None
) -> httpx.Response:
    return await client.post(
        "/oauth/mini_app/callback",
        json={
            "auth_code": started["auth_code"],
            "signature": signature or sign(started["poll_secret"], started["auth_code"]),
        },
    )


async def rewind_last_poll(session: AsyncSession, auth_code: str, seconds: float = 3) -> None:
    request = await session.scalar(select(LoginRequest).where(LoginRequest.auth_code == auth_code))
    assert request is not None
    if request.last_polled_at is not None:
        request.last_polled_at -= timedelta(seconds=seconds)
    await session.commit()


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
    stored = await session.scalar(
        select(LoginRequest).where(LoginRequest.auth_code == started["auth_code"])
    )
    assert stored is not None
    assert stored.user_agent == "Firefox/130"


async def test_full_flow_pending_confirmed_then_tokens_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    pending = await poll(client, started)
    assert pending.status_code == 400
    assert pending.json()["error"]["code"] == "authorization_pending"

    user = await create_user(session, telegram_id=8101)
    await device_flow.decide(session, started["auth_code"], user, approve=True, now=utcnow())
    await rewind_last_poll(session, started["auth_code"])

    tokens = await poll(client, started)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["telegram_id"] == 8101
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.json()["user"]["telegram_id"] == 8101

    await rewind_last_poll(session, started["auth_code"])
    reused = await poll(client, started)
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_grant"


async def test_polling_too_fast_is_slow_down(client: httpx.AsyncClient) -> None:
    started = await start(client)
    assert (await poll(client, started)).json()["error"]["code"] == "authorization_pending"
    assert (await poll(client, started)).json()["error"]["code"] == "slow_down"


async def test_denied_in_bot_is_access_denied(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    user = await create_user(session)
    await device_flow.decide(session, started["auth_code"], user, approve=False, now=utcnow())
    await session.commit()
    denied = await poll(client, started)
    assert denied.json()["error"]["code"] == "access_denied"


async def test_expired_code_is_expired_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    request = await session.scalar(
        select(LoginRequest).where(LoginRequest.auth_code == started["auth_code"])
    )
    assert request is not None
    request.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()
    assert (await poll(client, started)).json()["error"]["code"] == "expired_token"
    with pytest.raises(NotFound):
        await device_flow.pending_request(session, started["auth_code"], utcnow())


async def test_forged_code_and_wrong_signature_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await start(client)
    forged = await poll(client, {**started, "auth_code": "made-up-code"})
    assert forged.json()["error"]["code"] == "invalid_grant"

    user = await create_user(session)
    await device_flow.decide(session, started["auth_code"], user, approve=True, now=utcnow())
    await session.commit()
    wrong = await poll(client, started, signature=sign("guessed-secret", started["auth_code"]))
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_signature"
    assert "access_token" not in wrong.text


async def test_a_request_is_answered_once(session: AsyncSession, client: httpx.AsyncClient) -> None:
    started = await start(client)
    user = await create_user(session)
    await device_flow.decide(session, started["auth_code"], user, approve=True, now=utcnow())
    with pytest.raises(Conflict):
        await device_flow.decide(session, started["auth_code"], user, approve=False, now=utcnow())


async def test_start_without_bot_username_is_503(
    client: httpx.AsyncClient,
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.bot_identity = BotIdentity(None, None)
    response = await client.post("/oauth/mini_app/start")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "telegram_not_configured"


async def test_sign_in_endpoints_are_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.settings = app.state.settings.model_copy(update={"signin_rate_limit_per_minute": 3})
    statuses = [(await client.post("/oauth/mini_app/start")).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    limited = await client.post("/api/v1/auth/telegram", json={"init_data": "x"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"


async def test_purge_removes_only_long_expired_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    fresh = await start(client)
    old = await start(client)
    request = await session.scalar(
        select(LoginRequest).where(LoginRequest.auth_code == old["auth_code"])
    )
    assert request is not None
    request.expires_at = utcnow() - timedelta(days=2)
    await session.flush()
    assert await device_flow.purge_expired(session, utcnow()) == 1
    remaining = (await session.scalars(select(LoginRequest.auth_code))).all()
    assert fresh["auth_code"] in remaining
    assert old["auth_code"] not in remaining
