"""A ban racing the user's own refresh and sign-in, on PostgreSQL with real commits: whichever
commits first, afterwards no token the user holds or could have been handed works, and none
comes back to life with the unban."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from signalhub.db import Database
from signalhub.models import RefreshToken
from tests.factories import signed_init_data
from tests.helpers import bearer_for

pytestmark = pytest.mark.postgres

ADMIN = 900  # listed in the test settings' admin_telegram_ids
ROUNDS = 16
STAGGER_S = 0.005


@pytest.fixture
def database(committing_database: Database) -> Database:
    """The app under test commits for real: the races run on separate connections."""
    return committing_database


async def sign_in(client: httpx.AsyncClient, telegram_id: int) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def later(delay_s: float, request: Awaitable[httpx.Response]) -> httpx.Response:
    await asyncio.sleep(delay_s)
    return await request


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {access_token}"})


async def test_a_ban_racing_a_refresh_and_a_sign_in_leaves_no_usable_token(
    client: httpx.AsyncClient, committing_database: Database
) -> None:
    admin = await bearer_for(client, ADMIN)
    outcomes: Counter[str] = Counter()
    for round_number in range(ROUNDS):
        first = await sign_in(client, 7_600_000 + round_number)
        assert first.status_code == 200
        tokens: dict[str, Any] = first.json()
        user_id = tokens["user"]["id"]

        # Staggered starts, so that both orders (and the overlaps between) come up.
        delay = round_number * STAGGER_S
        banned, refreshed, signed_in = await asyncio.gather(
            client.post(f"/api/v1/admin/users/{user_id}/ban", headers=admin),
            later(delay, refresh(client, tokens["refresh_token"])),
            later(delay / 2, sign_in(client, 7_600_000 + round_number)),
        )
        assert banned.status_code == 200, banned.text
        access_tokens = [tokens["access_token"]]
        refresh_tokens = [tokens["refresh_token"]]
        for name, response in (("refresh", refreshed), ("sign_in", signed_in)):
            # Either before the ban (tokens handed out) or after it (refused): never a 500.
            assert response.status_code in (200, 403), response.text
            outcomes[f"{name}_{response.status_code}"] += 1
            if response.status_code == 200:
                access_tokens.append(response.json()["access_token"])
                refresh_tokens.append(response.json()["refresh_token"])
            else:
                assert response.json()["error"]["code"] == "account_banned"

        for access in access_tokens:
            assert (await me(client, access)).status_code == 403
        for token in refresh_tokens:
            assert (await refresh(client, token)).status_code == 403

        unbanned = await client.post(f"/api/v1/admin/users/{user_id}/unban", headers=admin)
        assert unbanned.status_code == 200
        for access in access_tokens:
            assert (await me(client, access)).json()["error"]["code"] == "token_revoked"
        for token in refresh_tokens:
            assert (await refresh(client, token)).status_code == 401
        async with committing_database.transaction() as session:
            stored = await session.scalars(
                select(RefreshToken).where(RefreshToken.user_id == user_id)
            )
            assert all(row.revoked_at is not None for row in stored.all())
    print(f"\nban vs refresh and sign-in over {ROUNDS} rounds: {dict(outcomes)}")
