"""The admin's ban over HTTP: a banned user's tokens, sign-ins, devices and messages all stop,
from their next request on; an unban lets them sign in again; both are audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import device_flow
from signalhub.auth.demo import launch_url
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices.signing import signed_headers
from signalhub.kit.crypto import encode_jwt, hmac_sha256_hex
from signalhub.kit.time import utcnow
from signalhub.models import (
    Approval,
    AuditLog,
    IdempotencyKey,
    OutboxMessage,
    OutboxStatus,
    RefreshToken,
    Role,
    Tier,
)
from signalhub.outbox import service as outbox
from signalhub.users import service as users
from tests.factories import create_device, create_subscriber, create_user, signed_init_data
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, drain_outbox
from tests.signals.conftest import fan_out, publish

ADMIN = 900  # listed in the test settings' admin_telegram_ids
TRADER = 7_300_001


async def sign_in(client: httpx.AsyncClient, telegram_id: int = TRADER) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )


async def signed_in(client: httpx.AsyncClient, telegram_id: int = TRADER) -> dict[str, Any]:
    response = await sign_in(client, telegram_id)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_banned(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "account_banned"


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer_for(client, ADMIN)


async def ban(client: httpx.AsyncClient, admin: dict[str, str], user_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/admin/users/{user_id}/ban", headers=admin)


async def unban(client: httpx.AsyncClient, admin: dict[str, str], user_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/admin/users/{user_id}/unban", headers=admin)


async def audit_rows(session: AsyncSession, user_id: int) -> list[AuditLog]:
    result = await session.scalars(
        select(AuditLog)
        .where(AuditLog.user_id == user_id, AuditLog.action.like("user.%banned"))
        .order_by(AuditLog.id)
    )
    return list(result.all())


async def test_a_ban_refuses_the_next_request_every_sign_in_and_the_refresh(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, admin: dict[str, str]
) -> None:
    tokens = await signed_in(client)
    user_id = tokens["user"]["id"]
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 200

    banned = await ban(client, admin, user_id)
    assert banned.status_code == 200, banned.text
    assert banned.json()["banned_at"] is not None
    assert banned.json()["bot_blocked"] is False

    # The access token issued before the ban is refused from the next request on.
    assert_banned(await client.get("/api/v1/me", headers=bearer(tokens)))
    assert_banned(await client.get("/api/v1/approvals/stream", headers=bearer(tokens)))
    assert_banned(await client.get("/api/v1/billing", headers=bearer(tokens)))
    # The refresh token is revoked, and the answer says why.
    assert_banned(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    )
    stored = await session.scalars(select(RefreshToken).where(RefreshToken.user_id == user_id))
    assert all(token.revoked_at is not None for token in stored.all())

    # Every way of signing in: initData, the demo link, the browser's QR flow.
    assert_banned(await sign_in(client))
    demo = dict(parse_qsl(urlsplit(launch_url(settings, TRADER, "Demo", utcnow())).fragment))
    assert_banned(
        await client.post("/api/v1/auth/telegram", json={"init_data": demo["tgWebAppData"]})
    )
    started = (await client.post("/oauth/mini_app/start")).json()
    user = await users.get(session, user_id)
    await device_flow.confirm(session, started["auth_code"], user, utcnow())
    await session.commit()
    signature = hmac_sha256_hex(started["poll_secret"].encode(), started["auth_code"].encode())
    assert_banned(
        await client.post(
            "/oauth/mini_app/accept",
            json={"auth_code": started["auth_code"], "signature": signature},
        )
    )

    [entry] = await audit_rows(session, user_id)
    assert entry.action == "user.banned"
    admin_user = await users.get_by_telegram_id(session, ADMIN)
    assert admin_user is not None
    assert entry.actor_user_id == admin_user.id
    assert entry.data["refresh_tokens_revoked"] == 1


async def test_a_route_reading_only_the_token_refuses_a_banned_user_too(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    """POST /payments scopes its Idempotency-Key by the token's user before its session opens:
    the key is neither claimed nor replayed for a banned account."""
    tokens = await signed_in(client)
    assert (await ban(client, admin, tokens["user"]["id"])).status_code == 200
    response = await client.post(
        "/api/v1/payments",
        json={"product": "premium_month", "method": "stars"},
        headers={**bearer(tokens), "Idempotency-Key": "ban-test-1"},
    )
    assert_banned(response)
    claimed = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "ban-test-1"))
    assert claimed is None


async def test_an_unban_lets_the_user_sign_in_again_but_revives_no_old_token(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    before = await signed_in(client)
    user_id = before["user"]["id"]
    await ban(client, admin, user_id)

    unbanned = await unban(client, admin, user_id)
    assert unbanned.status_code == 200
    assert unbanned.json()["banned_at"] is None

    old = await client.get("/api/v1/me", headers=bearer(before))
    assert old.status_code == 401
    assert old.json()["error"]["code"] == "token_revoked"
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert refreshed.json()["error"]["code"] == "refresh_token_revoked"

    after = await signed_in(client)
    assert (await client.get("/api/v1/me", headers=bearer(after))).status_code == 200
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": after["refresh_token"]}
    )
    assert rotated.status_code == 200

    assert [entry.action for entry in await audit_rows(session, user_id)] == [
        "user.banned",
        "user.unbanned",
    ]


async def test_banning_twice_or_unbanning_someone_not_banned_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    assert (await unban(client, admin, user.id)).json()["banned_at"] is None
    first = (await ban(client, admin, user.id)).json()
    again = (await ban(client, admin, user.id)).json()
    assert again["banned_at"] == first["banned_at"]
    await session.refresh(user)
    assert user.token_version == 1
    assert len(await audit_rows(session, user.id)) == 1


async def test_only_admins_ban_nobody_bans_themselves_and_unknown_ids_are_404(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    trader = await signed_in(client)
    other = await create_user(session)
    await session.commit()
    for path in ("ban", "unban"):
        refused = await client.post(
            f"/api/v1/admin/users/{other.id}/{path}", headers=bearer(trader)
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "admin_only"
        missing = await client.post(f"/api/v1/admin/users/{2**62}/{path}", headers=admin)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "user_not_found"
    assert (await client.post(f"/api/v1/admin/users/{other.id}/ban")).status_code == 401

    admin_user = await users.get_by_telegram_id(session, ADMIN)
    assert admin_user is not None
    self_ban = await ban(client, admin, admin_user.id)
    assert self_ban.status_code == 403
    assert self_ban.json()["error"]["code"] == "cannot_ban_self"
    await session.refresh(admin_user)
    assert admin_user.banned_at is None
    await session.refresh(other)
    assert other.banned_at is None


async def test_the_admin_view_shows_the_ban_and_the_blocked_bot(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str]
) -> None:
    user = await create_user(session, telegram_id=TRADER)
    await users.set_bot_blocked(session, TRADER, True)
    await session.commit()
    view = await client.get(f"/api/v1/admin/users/{user.id}", headers=admin)
    assert view.status_code == 200
    assert view.json()["bot_blocked"] is True
    assert view.json()["banned_at"] is None
    await ban(client, admin, user.id)
    assert (await client.get(f"/api/v1/admin/users/{user.id}", headers=admin)).json()[
        "banned_at"
    ] is not None
    trader = await bearer_for(client, TRADER + 1)
    assert (await client.get(f"/api/v1/admin/users/{user.id}", headers=trader)).status_code == 403
    missing = await client.get(f"/api/v1/admin/users/{2**62}", headers=admin)
    assert missing.json()["error"]["code"] == "user_not_found"


async def test_a_banned_users_devices_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, admin: dict[str, str]
) -> None:
    trader = await create_subscriber(session, Tier.premium, telegram_id=TRADER)
    registration = await create_device(session, settings, trader)
    await session.commit()

    async def poll() -> httpx.Response:
        target = "/api/v1/ea/poll?wait=0"
        headers = signed_headers(registration.device.id, registration.secret, "GET", target, b"")
        return await client.get(target, headers=headers)

    assert (await poll()).status_code == 200
    await ban(client, admin, trader.id)
    assert_banned(await poll())
    await unban(client, admin, trader.id)
    assert (await poll()).status_code == 200


async def test_a_forged_device_request_does_not_learn_of_the_ban(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, admin: dict[str, str]
) -> None:
    trader = await create_subscriber(session, Tier.premium, telegram_id=TRADER)
    registration = await create_device(session, settings, trader)
    await session.commit()
    await ban(client, admin, trader.id)
    target = "/api/v1/ea/poll?wait=0"
    headers = signed_headers(registration.device.id, "not-the-secret", "GET", target, b"")
    response = await client.get(target, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"


async def test_no_signal_reaches_a_banned_user(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, admin: dict[str, str]
) -> None:
    banned = await create_subscriber(session, Tier.vip, telegram_id=TRADER)
    kept = await create_subscriber(session, Tier.vip)
    await session.commit()
    await ban(client, admin, banned.id)
    signal = await publish(session, min_tier="free")
    await session.commit()
    await fan_out(database)
    offered = set(
        (await session.scalars(select(Approval.user_id).where(Approval.signal_id == signal.id)))
        .unique()
        .all()
    )
    assert kept.id in offered
    assert banned.id not in offered


async def outbox_rows(session: AsyncSession, chat_id: int) -> list[OutboxMessage]:
    result = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(result.all())


async def test_nothing_queued_for_a_banned_user_is_sent_whenever_it_was_queued(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
    admin: dict[str, str],
) -> None:
    user = await create_user(session, telegram_id=TRADER)
    await outbox.enqueue(session, TRADER, "queued before the ban", kind="receipt")
    await session.commit()
    assert (await ban(client, admin, user.id)).json()["banned_at"] is not None
    # Queued after the ban by a path that does not look (a receipt, an admin alert).
    await outbox.enqueue(session, TRADER, "queued after the ban", kind="receipt")
    await outbox.enqueue(session, TRADER + 1, "to someone else", kind="receipt")
    await session.commit()

    await drain_outbox(settings, database)

    rows = await outbox_rows(session, TRADER)
    assert [(row.status, row.last_error) for row in rows] == [
        (OutboxStatus.dropped, "recipient banned"),
        (OutboxStatus.dropped, "recipient banned"),
    ]
    assert TRADER not in {call.chat_id for call in telegram_api.sends()}
    assert TRADER + 1 in {call.chat_id for call in telegram_api.sends()}


async def test_the_user_and_token_columns_default_for_existing_rows(session: AsyncSession) -> None:
    user = await create_user(session)
    assert (user.bot_blocked, user.banned_at, user.token_version) == (False, None, 0)


async def test_a_token_from_before_versions_still_works(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Tokens issued before this change carry no `ver`: they are version 0, every user's
    first, so a deploy signs nobody out."""
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    legacy = encode_jwt(
        {"sub": str(user.id), "role": Role.user.value},
        settings.jwt_key(),
        utcnow(),
        timedelta(minutes=5),
    )
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {legacy}"})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.id


@pytest.mark.parametrize(
    ("user_id", "status", "code"),
    [
        ("0", 422, "validation_error"),
        (str(2**63), 422, "validation_error"),
        (str(2**70), 422, "validation_error"),
        ("-1", 404, "not_found"),
        ("abc", 404, "not_found"),
        ("1.5", 404, "not_found"),
        ("%00", 404, "not_found"),
    ],
)
async def test_a_bad_user_id_is_a_4xx_never_a_500(
    client: httpx.AsyncClient, admin: dict[str, str], user_id: str, status: int, code: str
) -> None:
    """A number out of range is invalid (422); what is not a number names no user (404)."""
    for method, path in (
        ("GET", f"/api/v1/admin/users/{user_id}"),
        ("POST", f"/api/v1/admin/users/{user_id}/ban"),
        ("POST", f"/api/v1/admin/users/{user_id}/unban"),
    ):
        response = await client.request(method, path, headers=admin)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error"]["code"] == code


async def test_the_ban_check_costs_no_query(client: httpx.AsyncClient, database: Database) -> None:
    """A signed-in request reads the user row once, as before the ban existed; the version and
    ban are compared on it."""
    tokens = await signed_in(client)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads_of_users = [sql for sql in statements if "FROM users" in sql]
    assert len(reads_of_users) == 1, statements
