"""Signing in through the real endpoint, for tests that need a Bearer token."""

from __future__ import annotations

import httpx

from tests.factories import signed_init_data


async def bearer_for(client: httpx.AsyncClient, telegram_id: int) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
