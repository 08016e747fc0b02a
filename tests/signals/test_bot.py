"""The bot path: `/signal` from an admin, the Approve / Reject buttons, through the real aiogram
dispatcher (webhook) against the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit.repository import AuditRepository
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import Approval, ApprovalStatus, Signal, Tier
from signalhub.signals.callbacks import ApprovalCallback
from tests.bot import updates
from tests.factories import create_subscriber
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import drain_outbox
from tests.signals.conftest import ADMIN_TELEGRAM_ID, fan_out


def last_reply(telegram_api: FakeTelegramAPI) -> str:
    return str(telegram_api.of("sendMessage")[-1].params["text"])


def last_answer(telegram_api: FakeTelegramAPI) -> dict[str, object]:
    return telegram_api.of("answerCallbackQuery")[-1].params


async def test_an_admin_publishes_with_the_command_and_traders_get_buttons(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    vip = await create_subscriber(session, Tier.vip, telegram_id=8001)
    await create_subscriber(session, Tier.premium, telegram_id=8002)
    await session.commit()

    command = "/signal EURUSD buy 1.0850 sl 1.0820 tp 1.0900 tp 1.0950 exp 30m tier vip"
    await updates.post(client, updates.command(ADMIN_TELEGRAM_ID, command))
    assert "published to vip traders" in last_reply(telegram_api)

    signal = await session.scalar(select(Signal).order_by(Signal.id.desc()))
    assert signal is not None
    assert (signal.symbol, signal.min_tier, signal.take_profits) == (
        "EURUSD",
        Tier.vip,
        ["1.0900", "1.0950"],
    )
    assert 29 * 60 < (signal.expires_at - utcnow()).total_seconds() <= 30 * 60
    audit = await AuditRepository(session).for_subject("signal", str(signal.id))
    assert [entry.action for entry in audit] == ["signal.published"]

    telegram_api.reset()
    await fan_out(database)
    await drain_outbox(settings, database)
    [request] = telegram_api.of("sendMessage")
    assert int(request.params["chat_id"]) == vip.telegram_id
    assert "Take profit 1.09, 1.095" in request.params["text"]


async def test_a_bad_command_answers_what_was_wrong_and_the_syntax(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    cases = {
        "/signal": "at least the symbol",
        "/signal EURUSD buy 1.0850 sl 1.0880 tp 1.09": "sl: ",
        "/signal EURUSD hold 1.0850 sl 1.08 tp 1.09": "side: ",
        "/signal EURUSD buy 1.0850 sl 1.08 tp 1.09 exp soon": "'soon' is not a duration",
        "/signal EURUSD buy 1.0850 sl 1.08 tp 1.09 exp 25h": "exp: ",
        "/signal EURUSD buy 1.0850 sl 1.08 tp": "'tp' needs a value",
        "/signal EURUSD buy 1.0850 sl 1.08 tp 1.09 colour red": "Unknown word 'colour'",
        "/signal EURUSD buy 1.0850 sl 1.08": "tp: ",
        "/signal EURUSD buy limit": "entry price is missing",
    }
    for command, problem in cases.items():
        await updates.post(client, updates.command(ADMIN_TELEGRAM_ID, command))
        reply = last_reply(telegram_api)
        assert problem in reply, (command, reply)
        assert "Usage: /signal SYMBOL" in reply
    assert await session.scalar(select(Signal)) is None


async def test_only_admins_publish(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.command(8003, "/signal EURUSD buy 1.085 sl 1.08 tp 1.09"))
    assert last_reply(telegram_api) == "Only admins can publish signals."
    assert await session.scalar(select(Signal)) is None


async def offered(
    client: httpx.AsyncClient, database: Database, session: AsyncSession, telegram_id: int
) -> Approval:
    await create_subscriber(session, telegram_id=telegram_id)
    await session.commit()
    command = "/signal XAUUSD sell 2400 sl 2410 tp 2380 note Fade the spike."
    await updates.post(client, updates.command(ADMIN_TELEGRAM_ID, command))
    await fan_out(database)
    approval = await session.scalar(select(Approval).order_by(Approval.id.desc()))
    assert approval is not None
    return approval


async def test_the_approve_button_decides_and_the_message_shows_the_decision(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    approval = await offered(client, database, session, 8004)
    await drain_outbox(settings, database)
    button = telegram_api.of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][0]

    await updates.post(client, updates.callback(8004, button["callback_data"]))
    assert last_answer(telegram_api)["text"] == "Approved ✅"
    await session.refresh(approval)
    assert approval.status is ApprovalStatus.approved
    assert approval.decided_via == "bot"

    await drain_outbox(settings, database)
    [edit] = telegram_api.of("editMessageText")
    assert "✅ Approved at" in edit.params["text"]
    assert "Fade the spike." in edit.params["text"]

    # Pressed again (a replay): the same answer, nothing new queued.
    await updates.post(client, updates.callback(8004, button["callback_data"]))
    assert last_answer(telegram_api)["text"] == "Approved ✅"
    reject = ApprovalCallback(approval_id=approval.id, approve=False).pack()
    await updates.post(client, updates.callback(8004, reject))
    assert last_answer(telegram_api) | {"callback_query_id": ""} == {
        "callback_query_id": "",
        "text": "You already approved this signal.",
        "show_alert": "true",
    }
    await drain_outbox(settings, database)
    assert len(telegram_api.of("editMessageText")) == 1


async def test_a_forged_button_changes_nothing_and_says_why(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    telegram_api: FakeTelegramAPI,
) -> None:
    approval = await offered(client, database, session, 8005)
    await create_subscriber(session, telegram_id=8006)
    await session.commit()

    for data in (
        ApprovalCallback(approval_id=approval.id, approve=True).pack(),  # someone else's
        ApprovalCallback(approval_id=approval.id + 1000, approve=True).pack(),  # nobody's
    ):
        await updates.post(client, updates.callback(8006, data))
        assert last_answer(telegram_api)["text"] == "No such approval among yours."
    await session.refresh(approval)
    assert approval.status is ApprovalStatus.pending


async def test_a_button_pressed_after_expiry_is_refused(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    telegram_api: FakeTelegramAPI,
) -> None:
    approval = await offered(client, database, session, 8007)
    signal = await session.get(Signal, approval.signal_id)
    assert signal is not None
    signal.expires_at = utcnow() - timedelta(seconds=5)
    await session.commit()
    data = ApprovalCallback(approval_id=approval.id, approve=False).pack()
    await updates.post(client, updates.callback(8007, data))
    assert last_answer(telegram_api)["text"] == "The signal has expired."
    await session.refresh(approval)
    assert approval.status is ApprovalStatus.pending
