"""The ban in the bot: `/ban` and `/unban` for admins, the one fixed answer to a banned user
whatever they send, and money Telegram already took still recorded (its receipt never sent)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars import service as stars
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import AuditLog, OutboxMessage, OutboxStatus, Payment, PaymentProvider, User
from signalhub.users import service as users
from tests.bot import updates
from tests.factories import create_product, create_user
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import drain_outbox

ADMIN = 900  # listed in the test settings' admin_telegram_ids
TRADER = 7_400_001


def last_text(telegram_api: FakeTelegramAPI, chat_id: int) -> str:
    sent = [call for call in telegram_api.of("sendMessage") if call.chat_id == chat_id]
    assert sent, f"nothing was sent to {chat_id}"
    return str(sent[-1].params["text"])


async def user_named(session: AsyncSession, telegram_id: int) -> User:
    user = await session.scalar(
        select(User)
        .where(User.telegram_id == telegram_id)
        .execution_options(populate_existing=True)
    )
    assert user is not None
    return user


async def test_an_admin_bans_and_unbans_in_the_bot(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_user(session, telegram_id=TRADER)
    await session.commit()

    await updates.post(client, updates.command(ADMIN, f"/ban {TRADER}"))
    assert last_text(telegram_api, ADMIN) == f"User {TRADER} banned: signed out everywhere."
    banned = await user_named(session, TRADER)
    assert banned.banned_at is not None
    admin = await user_named(session, ADMIN)
    entry = await session.scalar(
        select(AuditLog).where(AuditLog.action == "user.banned", AuditLog.user_id == banned.id)
    )
    assert entry is not None
    assert entry.actor_user_id == admin.id

    await updates.post(client, updates.command(TRADER, "/start"))
    assert last_text(telegram_api, TRADER) == users.BANNED_MESSAGE

    await updates.post(client, updates.command(ADMIN, f"/unban {TRADER}"))
    assert last_text(telegram_api, ADMIN) == f"User {TRADER} unbanned: may sign in again."
    assert (await user_named(session, TRADER)).banned_at is None
    await updates.post(client, updates.command(TRADER, "/start"))
    assert last_text(telegram_api, TRADER).startswith("Welcome to signalhub")


async def test_the_commands_refuse_non_admins_bad_ids_strangers_and_the_admin_themselves(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_user(session, telegram_id=TRADER)
    await session.commit()
    answers = {
        (TRADER, f"/ban {ADMIN}"): "Only admins can ban users.",
        (TRADER, f"/unban {ADMIN}"): "Only admins can unban users.",
        (ADMIN, "/ban"): "Usage: /ban <telegram_id>",
        (ADMIN, "/unban abc"): "Usage: /unban <telegram_id>",
        (ADMIN, "/ban 0"): "Usage: /ban <telegram_id>",
        (ADMIN, f"/ban {2**63}"): "Usage: /ban <telegram_id>",
        (ADMIN, "/ban 123456"): "No user has Telegram id 123456.",
        (ADMIN, f"/ban {ADMIN}"): "Admins cannot ban themselves.",
    }
    for (sender, text), expected in answers.items():
        await updates.post(client, updates.command(sender, text))
        assert last_text(telegram_api, sender) == expected
    assert (await user_named(session, ADMIN)).banned_at is None
    assert (await user_named(session, TRADER)).banned_at is None


async def test_a_banned_user_gets_the_fixed_answer_to_every_kind_of_update(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    product = await create_product(session, code="premium_banned", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    admin = await create_user(session, telegram_id=ADMIN)
    invoice = await stars.open_invoice(session, user, product.code)
    await users.ban(session, user.id, admin, utcnow())
    await session.commit()

    await updates.post(client, updates.command(TRADER, "/status"))
    assert last_text(telegram_api, TRADER) == users.BANNED_MESSAGE

    await updates.post(client, updates.callback(TRADER, "menu:shop"))
    [alert] = telegram_api.of("answerCallbackQuery")
    assert alert.params["text"] == users.BANNED_MESSAGE
    assert alert.params["show_alert"] == "true"

    await updates.post(client, updates.pre_checkout(TRADER, invoice.payload, 1500))
    [answer] = telegram_api.of("answerPreCheckoutQuery")
    assert answer.params["ok"] == "false"
    assert answer.params["error_message"] == users.BANNED_MESSAGE

    # A browser sign-in confirmation is one more update: no handler sees it.
    await updates.post(client, updates.callback(TRADER, "login:abc:1"))
    assert len(telegram_api.of("answerCallbackQuery")) == 2
    assert telegram_api.of("sendInvoice") == []


async def test_money_taken_before_the_ban_is_recorded_and_its_receipt_never_sent(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    """The pre-checkout was answered before the ban; the payment lands after it."""
    product = await create_product(session, code="premium_paid", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    admin = await create_user(session, telegram_id=ADMIN)
    invoice = await stars.open_invoice(session, user, product.code)
    await users.ban(session, user.id, admin, utcnow())
    await session.commit()

    paid = updates.successful_payment(TRADER, invoice.payload, 1500, "stxBanned1")
    assert (await updates.post(client, paid)).status_code == 200
    payment = await session.scalar(
        select(Payment).where(
            Payment.provider == PaymentProvider.telegram_stars,
            Payment.provider_payment_id == "stxBanned1",
        )
    )
    assert payment is not None
    assert payment.user_id == user.id

    await drain_outbox(settings, database)
    receipts = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == TRADER)
            .execution_options(populate_existing=True)
        )
    ).all()
    assert receipts
    assert {row.status for row in receipts} == {OutboxStatus.dropped}
    assert TRADER not in {call.chat_id for call in telegram_api.sends()}


async def test_the_blocked_bot_flag_still_follows_a_banned_user(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    user = await create_user(session, telegram_id=TRADER)
    admin = await create_user(session, telegram_id=ADMIN)
    await users.ban(session, user.id, admin, utcnow())
    await session.commit()
    await updates.post(client, updates.my_chat_member(TRADER, "member", "kicked"))
    assert (await user_named(session, TRADER)).bot_blocked is True
    assert telegram_api.sends() == []
