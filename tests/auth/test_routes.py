from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl, urlencode

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import RefreshToken, User
from tests.conftest import TEST_JWT_SECRET
from tests.factories import create_payment, create_product, create_user, signed_init_data


async def user_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def sign_in(client: httpx.AsyncClient, telegram_id: int = 5001) -> dict[str, object]:
    response = await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_sign_in_creates_user_and_returns_tokens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = await sign_in(client, 5001)
    assert body["expires_in"] == 900
    user = body["user"]
    assert isinstance(user, dict)
    assert user["telegram_id"] == 5001
    assert user["tier"] == "free"
    assert user["is_premium"] is False

    claims = jwt.decode(str(body["access_token"]), TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user["id"])
    assert claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]

    stored = await session.scalar(select(User).where(User.telegram_id == 5001))
    assert stored is not None
    assert stored.username == "trader"


async def test_sign_in_again_updates_profile_without_duplicating(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await sign_in(client, 5002)
    before = await user_count(session)
    await sign_in(client, 5002)
    assert await user_count(session) == before


async def test_sign_in_reports_paid_tier(client: httpx.AsyncClient, session: AsyncSession) -> None:
    from signalhub.entitlements import service as entitlements
    from signalhub.kit.time import utcnow

    user = await create_user(session, telegram_id=5003)
    product = await create_product(session)
    await entitlements.grant(
        session, product, await create_payment(session, user, product), utcnow()
    )
    await session.commit()
    body = await sign_in(client, 5003)
    assert body["user"] == {
        "id": user.id,
        "telegram_id": 5003,
        "tier": "premium",
        "is_premium": True,
    }


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda f: f.update(user=f["user"].replace("6001", "6002")), "init_data_bad_signature"),
        (lambda f: f.pop("hash"), "init_data_missing_hash"),
        (lambda f: f.update(hash="0" * 64), "init_data_bad_signature"),
    ],
)
async def test_tampered_init_data_is_401_and_creates_nobody(
    client: httpx.AsyncClient, session: AsyncSession, mutate: object, code: str
) -> None:
    fields = dict(parse_qsl(signed_init_data(6001)))
    mutate(fields)  # type: ignore[operator]
    before = await user_count(session)
    response = await client.post("/api/v1/auth/telegram", json={"init_data": urlencode(fields)})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert await user_count(session) == before


async def test_stale_init_data_is_401(client: httpx.AsyncClient) -> None:
    stale = signed_init_data(6003, auth_date=int(time.time()) - 86400 - 60)
    response = await client.post("/api/v1/auth/telegram", json={"init_data": stale})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "init_data_expired"


@pytest.mark.parametrize("body", [{}, {"init_data": 5}, {"init_data": ""}, []])
async def test_malformed_body_is_422(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/api/v1/auth/telegram", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_listed_admin_gets_admin_role(client: httpx.AsyncClient) -> None:
    body = await sign_in(client, 900)
    claims = jwt.decode(str(body["access_token"]), TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["role"] == "admin"


async def test_me_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "token_invalid"
    forged = jwt.encode(
        {"sub": "1", "iat": 1, "exp": 2**31, "jti": "x"},
        "another-secret-of-the-same-length-xx",
        "HS256",
    )
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    ).status_code == 401


async def test_expired_access_token_is_401(client: httpx.AsyncClient) -> None:
    expired = jwt.encode(
        {"sub": "1", "role": "user", "iat": 1, "exp": 2, "jti": "x"}, TEST_JWT_SECRET, "HS256"
    )
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


async def test_me_returns_user_and_tier(client: httpx.AsyncClient) -> None:
    tokens = await sign_in(client, 5004)
    response = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["telegram_id"] == 5004
    assert body["user"]["role"] == "user"
    assert body["tier"] == "free"
    assert body["expires_at"] is None


async def refresh(client: httpx.AsyncClient, token: object) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_each_token_works_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await sign_in(client, 5005)
    second = await refresh(client, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["user"]["telegram_id"] == 5005
    third = await refresh(client, rotated["refresh_token"])
    assert third.status_code == 200

    stored = (await session.scalars(select(RefreshToken))).all()
    assert len({token.family_id for token in stored if token.user_id == rotated["user"]["id"]}) == 1
    assert all(len(token.token_hash) == 64 for token in stored)
    assert str(first["refresh_token"]) not in {token.token_hash for token in stored}


async def test_reused_refresh_token_revokes_the_whole_family(client: httpx.AsyncClient) -> None:
    first = await sign_in(client, 5006)
    rotated = (await refresh(client, first["refresh_token"])).json()

    replay = await refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"

    after = await refresh(client, rotated["refresh_token"])
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "refresh_token_revoked"

    other_session = await sign_in(client, 5006)
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200


async def test_unknown_and_expired_refresh_tokens_are_401(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    unknown = await refresh(client, "not-a-token")
    assert unknown.json()["error"]["code"] == "refresh_token_invalid"

    tokens = await sign_in(client, 5007)
    from signalhub.kit.crypto import sha256_hex

    stored = await session.scalar(
        select(RefreshToken).where(
            RefreshToken.token_hash == sha256_hex(str(tokens["refresh_token"]))
        )
    )
    assert stored is not None
    stored.expires_at = stored.created_at
    await session.commit()
    expired = await refresh(client, tokens["refresh_token"])
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "refresh_token_expired"


@pytest.mark.postgres
async def test_concurrent_refresh_with_one_token_succeeds_once(
    committing_database: Database, settings: Settings
) -> None:
    app = create_app(settings, committing_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        tokens = await sign_in(client, 5008)
        responses = await asyncio.gather(
            *(refresh(client, tokens["refresh_token"]) for _ in range(10))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1
    assert statuses.count(401) == 9
