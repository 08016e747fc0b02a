"""A broadcast end to end: admin API → scheduler → outbox → sender → fake Bot API, then CTA
clicks and the analytics, which must equal what the fake Bot API received."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.models import User
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for
from tests.marketing.conftest import make_template, run_to_end

ADMIN = 900
TARGET = "https://example.com/offer?x=1"


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer_for(client, ADMIN)


async def create_template(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> int:
    payload = {
        "title": "Spring offer",
        "text": "Hi <b>{first_name}</b>, VIP is 20 % off!",
        "buttons": [
            {"kind": "url", "text": "See the offer", "url": TARGET},
            {"kind": "mini_app", "text": "Open the app"},
        ],
        **body,
    }
    response = await client.post("/api/v1/admin/broadcast-templates", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def start_broadcast(
    client: httpx.AsyncClient, headers: dict[str, str], template_id: int, segment: str = "all"
) -> int:
    response = await client.post(
        "/api/v1/admin/broadcasts",
        json={"template_id": template_id, "segment": segment},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def sends_by_chat(telegram_api: FakeTelegramAPI) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in telegram_api.of("sendMessage")
        if call.chat_id is not None and "VIP is 20 % off" in str(call.params.get("text"))
    )


async def test_a_broadcast_reaches_its_segment_once_and_the_analytics_match_the_bot_api(
    client: httpx.AsyncClient,
    population: dict[str, User],
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    headers = await admin_headers(client)
    population["free_en"].first_name = "<Bob & Co>"
    await session.commit()
    telegram_api.block(population["free_de"].telegram_id)
    telegram_api.fail_next(population["vip"].telegram_id, 400, "Bad Request: chat not found")

    broadcast_id = await start_broadcast(client, headers, await create_template(client, headers))
    await run_to_end(database, settings)

    sent = sends_by_chat(telegram_api)
    expected_chats = {
        user.telegram_id
        for name, user in population.items()
        if name not in ("blocked_vip", "opted_out")
    } | {ADMIN}
    assert set(sent) == expected_chats
    assert set(sent.values()) == {1}
    bob = next(
        call
        for call in telegram_api.of("sendMessage")
        if call.chat_id == population["free_en"].telegram_id
    )
    assert bob.params["parse_mode"] == "HTML"
    assert bob.params["text"] == "Hi <b>&lt;Bob &amp; Co&gt;</b>, VIP is 20 % off!"

    analytics = (
        await client.get(f"/api/v1/admin/broadcasts/{broadcast_id}/analytics", headers=headers)
    ).json()
    accepted = [
        call
        for call in telegram_api.of("sendMessage")
        if call.status == 200 and call.chat_id in expected_chats
    ]
    assert analytics["status"] == "sent"
    assert analytics["targeted"] == len(expected_chats)
    assert analytics["delivered"] == len(accepted) == len(expected_chats) - 2
    assert analytics["blocked"] == 1
    assert analytics["failed"] == 1
    assert analytics["clicked"] == 0
    assert "viewed" not in analytics
    assert sum(minute["delivered"] for minute in analytics["timeline"]) == len(accepted)
    await session.refresh(population["free_de"])
    assert population["free_de"].bot_blocked is True


async def test_a_cta_click_is_counted_once_and_a_tampered_link_is_a_404(
    client: httpx.AsyncClient,
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    headers = await admin_headers(client)
    broadcast_id = await start_broadcast(
        client, headers, await create_template(client, headers), "premium"
    )
    await run_to_end(database, settings)
    trader = population["premium"]
    message = next(
        call for call in telegram_api.of("sendMessage") if call.chat_id == trader.telegram_id
    )
    url_button, mini_app_button = (
        row[0] for row in message.params["reply_markup"]["inline_keyboard"]
    )
    link = urlsplit(url_button["url"])
    assert link.path.startswith("/r/")

    for _ in range(3):
        response = await client.get(link.path)
        assert response.status_code == 302
        assert response.headers["location"] == TARGET
    token = link.path.removeprefix("/r/")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "x", token + "A", "https:--evil.example"):
        response = await client.get(f"/r/{bad}")
        assert response.status_code == 404, bad
        assert "location" not in response.headers
        assert response.json()["error"]["code"] in ("link_not_found", "validation_error")

    start_param = urlsplit(mini_app_button["url"]).query.removeprefix("startapp=")
    assert mini_app_button["url"].startswith("https://t.me/signalhub_test_bot?startapp=")
    trader_headers = await bearer_for(client, trader.telegram_id)
    for _ in range(2):
        response = await client.post(
            "/api/v1/marketing/cta", json={"start_param": start_param}, headers=trader_headers
        )
        assert response.status_code == 204
    response = await client.post(
        "/api/v1/marketing/cta", json={"start_param": "bc999999_1"}, headers=trader_headers
    )
    assert response.status_code == 404

    analytics = (
        await client.get(f"/api/v1/admin/broadcasts/{broadcast_id}/analytics", headers=headers)
    ).json()
    assert analytics["clicked"] == 1
    assert analytics["clicks_per_button"] == {"0": 1, "1": 1}
    assert analytics["click_through_rate"] == round(1 / analytics["delivered"], 4)


async def test_opted_out_users_are_never_targeted_until_they_opt_back_in(
    client: httpx.AsyncClient, population: dict[str, User], database: Database
) -> None:
    async def everyone() -> int:
        async with database.transaction() as session:
            return await marketing.segment_size(session, "all", None, utcnow())

    trader_headers = await bearer_for(client, population["free_en"].telegram_id)
    before = await everyone()
    response = await client.put(
        "/api/v1/me/marketing", json={"subscribed": False}, headers=trader_headers
    )
    assert response.json() == {"subscribed": False}
    assert (await client.get("/api/v1/me/marketing", headers=trader_headers)).json() == {
        "subscribed": False
    }
    assert await everyone() == before - 1
    await client.put("/api/v1/me/marketing", json={"subscribed": True}, headers=trader_headers)
    assert await everyone() == before


async def test_someone_who_opts_out_after_the_start_is_skipped(
    population: dict[str, User],
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    template = await make_template(session, settings)
    broadcast = await marketing.create_broadcast(
        session, _create(template.id, "free"), None, utcnow()
    )
    await session.commit()
    async with database.transaction() as work:
        await marketing.start_due(work, utcnow())
    population["free_en"].marketing_opt_out = True
    await session.commit()
    await run_to_end(database, settings)
    assert population["free_en"].telegram_id not in {call.chat_id for call in telegram_api.sends()}
    analytics = await marketing.analytics(session, broadcast.id)
    assert analytics.skipped == 1


def _create(template_id: int, segment: str, **fields: object) -> object:
    from signalhub.marketing.schemas import BroadcastCreate

    return BroadcastCreate.model_validate(
        {"template_id": template_id, "segment": segment, **fields}
    )
