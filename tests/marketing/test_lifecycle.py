"""Scheduling, cancelling, and crashes mid-fan-out and mid-send: each user gets a broadcast at
most once, and everyone not caught by a crash gets it exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
import pytest

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate
from signalhub.models import BroadcastStatus, Tier, User
from signalhub.outbox.sender import OutboxSender
from tests.factories import create_payment, create_product
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, drain_outbox
from tests.marketing.conftest import make_template, recipients, run_to_end, tick


async def new_broadcast(
    database: Database, settings: Settings, segment: str = "all", **fields: object
) -> int:
    async with database.transaction() as session:
        template = await make_template(session, settings, "News for {first_name}")
        data = BroadcastCreate.model_validate(
            {"template_id": template.id, "segment": segment, **fields}
        )
        return (await marketing.create_broadcast(session, data, None, utcnow())).id


async def status_of(database: Database, broadcast_id: int) -> BroadcastStatus:
    async with database.transaction() as session:
        return (await marketing.get(session, broadcast_id)).status


def received(telegram_api: FakeTelegramAPI) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in telegram_api.sends()
        if call.chat_id is not None and "News for" in str(call.params.get("text"))
    )


def eligible(population: dict[str, User]) -> set[int]:
    return {
        user.telegram_id
        for name, user in population.items()
        if name not in ("blocked_vip", "opted_out")
    }


async def test_bad_broadcast_requests_get_clear_4xx(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    headers = await bearer_for(client, 900)
    broadcast_id = await new_broadcast(database, settings)
    async with database.transaction() as session:
        template_id = (await marketing.get(session, broadcast_id)).template_id
    cases = [
        ({"template_id": 999_999, "segment": "all"}, 404, "template_not_found"),
        ({"template_id": template_id, "segment": "everyone"}, 422, "unknown_segment"),
        ({"template_id": template_id, "segment": "lapsed:0"}, 422, "unknown_segment"),
        (
            {"template_id": template_id, "segment": "all", "scheduled_at": "2020-01-01T00:00:00Z"},
            422,
            "scheduled_in_past",
        ),
        (
            {"template_id": template_id, "segment": "all", "language": "EN\x00"},
            422,
            "validation_error",
        ),
        ({"template_id": 2**63, "segment": "all"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await client.post("/api/v1/admin/broadcasts", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    assert (
        "everyone"
        in (
            await client.post(
                "/api/v1/admin/broadcasts",
                json={"template_id": template_id, "segment": "everyone"},
                headers=headers,
            )
        ).json()["error"]["message"]
    )

    await run_to_end(database, settings)
    response = await client.post(f"/api/v1/admin/broadcasts/{broadcast_id}/cancel", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "broadcast_finished"
    assert (
        await client.post("/api/v1/admin/broadcasts/424242/cancel", headers=headers)
    ).status_code == 404
    listed = (await client.get("/api/v1/admin/broadcasts?per_page=1", headers=headers)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["status"] == "sent"


async def test_a_scheduled_broadcast_starts_when_due_and_resolves_its_segment_then(
    population: dict[str, User], database: Database, settings: Settings
) -> None:
    now = utcnow()
    broadcast_id = await new_broadcast(
        database, settings, "premium", scheduled_at=(now + timedelta(hours=1)).isoformat()
    )
    assert (await tick(database, settings, now))["started"] == 0
    # Someone buys premium after scheduling, before the start: they are in.
    async with database.transaction() as session:
        product = await create_product(session, tier=Tier.premium)
        buyer = await session.get(User, population["free_en"].id)
        assert buyer is not None
        payment = await create_payment(session, buyer, product)
        await entitlements.grant(session, product, payment, now)
    assert (await tick(database, settings, now + timedelta(hours=2)))["started"] == 1
    assert (await tick(database, settings, now + timedelta(hours=2)))["started"] == 0
    async with database.transaction() as session:
        broadcast = await marketing.get(session, broadcast_id)
        assert await recipients(session, broadcast_id) == {
            population[name].id for name in ("premium", "expiring_premium", "free_en")
        }
    assert broadcast.status is BroadcastStatus.sending
    assert broadcast.targeted_count == 3


async def test_cancel_drops_the_unsent_and_says_how_many(
    client: httpx.AsyncClient,
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    headers = await bearer_for(client, 900)
    broadcast_id = await new_broadcast(database, settings)
    await tick(database, settings)
    response = await client.post(f"/api/v1/admin/broadcasts/{broadcast_id}/cancel", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["broadcast"]["status"] == "cancelled"
    assert body["dropped"] == body["broadcast"]["targeted_count"] == len(eligible(population)) + 1
    await drain_outbox(settings, database)
    await tick(database, settings)
    assert received(telegram_api) == Counter()
    analytics = (
        await client.get(f"/api/v1/admin/broadcasts/{broadcast_id}/analytics", headers=headers)
    ).json()
    assert analytics["cancelled"] == body["dropped"]
    assert analytics["delivered"] == 0


async def test_the_admin_test_send_goes_to_the_admin_only(
    client: httpx.AsyncClient, database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    headers = await bearer_for(client, 900)
    broadcast_id = await new_broadcast(database, settings)
    response = await client.post(f"/api/v1/admin/broadcasts/{broadcast_id}/test", headers=headers)
    assert response.status_code == 202
    await drain_outbox(settings, database)
    assert received(telegram_api) == Counter({900: 1})
    assert await status_of(database, broadcast_id) is BroadcastStatus.scheduled


async def test_a_crash_mid_fan_out_queues_nobody_twice(
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    broadcast_id = await new_broadcast(database, settings)
    async with database.transaction() as session:
        await marketing.start_due(session, utcnow())
    async with database.transaction() as session:
        assert await marketing.fan_out(session, settings, broadcast_id, limit=3) == 3
    # The worker dies after queueing the next batch but before committing it.
    await _fan_out_then_die(database, settings, broadcast_id)
    await run_to_end(database, settings)
    assert received(telegram_api) == Counter({chat: 1 for chat in eligible(population)})


async def test_the_fan_out_stays_a_lead_ahead_of_the_sender(
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    broadcast_id = await new_broadcast(database, settings)
    async with database.transaction() as session:
        await marketing.start_due(session, utcnow())
    async with database.transaction() as session:
        assert await marketing.fan_out(session, settings, broadcast_id, lead=3) == 3
        # Three queued and none settled: nothing more until the sender catches up.
        assert await marketing.fan_out(session, settings, broadcast_id, lead=3) == 0
    await drain_outbox(settings, database)
    async with database.transaction() as session:
        await marketing.settle(session, broadcast_id, utcnow())
        assert await marketing.fan_out(session, settings, broadcast_id, lead=3) == 3
    assert marketing.fanout_lead(settings) == max(
        marketing.MIN_FANOUT_LEAD, 10 * settings.telegram_rate_per_second
    )


async def _fan_out_then_die(database: Database, settings: Settings, broadcast_id: int) -> None:
    with pytest.raises(RuntimeError, match="killed"):
        await _fan_out_and_raise(database, settings, broadcast_id)


async def _fan_out_and_raise(database: Database, settings: Settings, broadcast_id: int) -> None:
    async with database.transaction() as session:
        await marketing.fan_out(session, settings, broadcast_id, limit=4)
        raise RuntimeError("killed")


async def test_a_sender_killed_mid_send_never_sends_those_messages_again(
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    broadcast_id = await new_broadcast(database, settings)
    await tick(database, settings)
    bot = create_bot(settings)
    try:
        # A sender claims a batch (committed as `sending`) and dies before any outcome.
        claimed = await OutboxSender(settings, database, bot)._claim()
        # The next sender to start recovers: those rows may have reached Telegram.
        await OutboxSender(settings, database, bot).recover()
    finally:
        await bot.session.close()
    assert claimed
    await run_to_end(database, settings)

    counts = received(telegram_api)
    assert all(count == 1 for count in counts.values())
    caught = {message.chat_id for message in claimed}
    assert set(counts) == eligible(population) - caught
    async with database.transaction() as session:
        analytics = await marketing.analytics(session, broadcast_id)
    assert analytics.status is BroadcastStatus.sent
    assert analytics.failed == len(caught)
    assert analytics.delivered == len(counts)
