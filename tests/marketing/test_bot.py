"""`/broadcast` through the real aiogram dispatcher and webhook against the fake Bot API, and
/stop_marketing, /start_marketing."""

from __future__ import annotations

import httpx

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.models import BroadcastStatus, User
from tests.bot import updates
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.marketing.conftest import run_to_end

ADMIN = 900


def last_keyboard(telegram_api: FakeTelegramAPI) -> list[dict[str, str]]:
    message = telegram_api.of("sendMessage")[-1]
    return [row[0] for row in message.params["reply_markup"]["inline_keyboard"]]


async def press(client: httpx.AsyncClient, telegram_api: FakeTelegramAPI, label: str) -> None:
    button = next(
        button for button in last_keyboard(telegram_api) if button["text"].startswith(label)
    )
    response = await updates.post(client, updates.callback(ADMIN, button["callback_data"]))
    assert response.status_code == 200


async def test_an_admin_writes_previews_targets_and_sends_a_broadcast_from_the_bot(
    client: httpx.AsyncClient,
    population: dict[str, User],
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    await updates.post(client, updates.command(ADMIN, "/broadcast"))
    assert (
        "Choose a template or write the text" in telegram_api.of("sendMessage")[-1].params["text"]
    )
    await press(client, telegram_api, "✍️ Write the text")

    await updates.post(client, updates.command(ADMIN, "<b>x"))
    # Plain text arrives as text; what the admin types is escaped into HTML, never refused.
    preview = telegram_api.of("sendMessage")[-2]
    assert preview.params["text"] == "&lt;b&gt;x"
    assert preview.params["parse_mode"] == "HTML"
    segments = last_keyboard(telegram_api)
    async with database.transaction() as session:
        premium_size = await marketing.segment_size(session, "premium", None, utcnow())
    assert f"Premium ({premium_size})" in [button["text"] for button in segments]

    await press(client, telegram_api, "Premium")
    assert (
        f"({premium_size} recipients right now)"
        in telegram_api.of("sendMessage")[-1].params["text"]
    )
    await press(client, telegram_api, "✅ Send")

    await run_to_end(database, settings)
    progress = next(
        call for call in telegram_api.of("sendMessage") if "sending: 0 %" in call.params["text"]
    )
    assert progress.params["chat_id"] == str(ADMIN)
    edits = telegram_api.of("editMessageText")
    assert edits
    assert edits[-1].params["text"].startswith("Broadcast #")
    assert "sent: 100 %" in edits[-1].params["text"]
    assert {edit.params["chat_id"] for edit in edits} == {str(ADMIN)}
    sent_to = {
        call.chat_id
        for call in telegram_api.of("sendMessage")
        if call.params["text"] == "&lt;b&gt;x"
    }
    assert sent_to == {
        population["premium"].telegram_id,
        population["expiring_premium"].telegram_id,
        ADMIN,
    }
    async with database.transaction() as session:
        (broadcast,), _ = await marketing.page(session, 1, 1)
    assert broadcast.status is BroadcastStatus.sent


async def test_non_admins_cannot_broadcast_and_anyone_can_stop_marketing(
    client: httpx.AsyncClient, database: Database, telegram_api: FakeTelegramAPI
) -> None:
    trader = 777_001
    await updates.post(client, updates.command(trader, "/broadcast"))
    assert telegram_api.of("sendMessage")[-1].params["text"] == "Only admins can send broadcasts."

    async def opted_out() -> bool:
        async with database.transaction() as session:
            from signalhub.users import service as users

            user = await users.get_by_telegram_id(session, trader)
            assert user is not None
            return user.marketing_opt_out

    await updates.post(client, updates.command(trader, "/stop_marketing"))
    assert await opted_out() is True
    assert "no more promotions" in telegram_api.of("sendMessage")[-1].params["text"]
    await updates.post(client, updates.command(trader, "/start_marketing"))
    assert await opted_out() is False
