"""Stars end to end: /start → /shop → invoice → pre-checkout → payment → tier → receipt sent."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars.service import InvoicePayload
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import (
    AuditLog,
    Entitlement,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentRequest,
    PaymentStatus,
    Priority,
    Role,
    Tier,
)
from signalhub.users import service as users
from tests.bot import updates
from tests.factories import create_product, create_user
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, drain_outbox

TRADER = 555_001


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_stars_purchase_from_start_to_receipt(
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    product = await create_product(session, tier=Tier.vip, code="vip_month", price_stars=2500)
    await session.commit()

    assert (await updates.post(client, updates.command(TRADER, "/start"))).status_code == 200
    welcome = telegram_api.of("sendMessage")[-1]
    assert welcome.params["chat_id"] == str(TRADER)
    menu = welcome.params["reply_markup"]["inline_keyboard"]
    assert [button["text"] for button in menu[0]] == ["Shop", "Status"]
    # PUBLIC_URL is http in tests: Telegram would refuse a web_app button.
    assert all("web_app" not in button for row in menu for button in row)

    assert (await updates.post(client, updates.command(TRADER, "/shop"))).status_code == 200
    shop = telegram_api.of("sendMessage")[-1]
    assert "$19.00 or 2500 Stars" in shop.params["text"]
    assert "vip feature" in shop.params["text"]
    buy_button = shop.params["reply_markup"]["inline_keyboard"][0][0]

    response = await updates.post(client, updates.callback(TRADER, buy_button["callback_data"]))
    assert response.status_code == 200
    invoice = telegram_api.of("sendInvoice")[-1]
    assert invoice.params["currency"] == "XTR"
    # No payment provider for Stars; aiogram leaves the empty provider_token off the form.
    assert invoice.params.get("provider_token", "") == ""
    assert invoice.params["prices"] == [{"label": product.name, "amount": 2500}]
    payload = invoice.params["payload"]
    user = await users.get_by_telegram_id(session, TRADER)
    assert user is not None
    order = InvoicePayload.decode(payload)
    assert (order.product_code, order.user_id) == ("vip_month", user.id)
    # /shop opens its invoice as a payment request, like the Mini App's payment page.
    request = await session.get(PaymentRequest, order.payment_request_id)
    assert request is not None
    assert (request.method, request.amount_minor, request.currency) == ("stars", 2500, "XTR")

    await updates.post(client, updates.pre_checkout(TRADER, payload, 2500))
    answer = telegram_api.of("answerPreCheckoutQuery")[-1]
    assert answer.params["ok"] == "true"

    paid = updates.successful_payment(TRADER, payload, 2500, "stxCharge1")
    assert (await updates.post(client, paid)).status_code == 200
    me = await client.get("/api/v1/me", headers=await bearer_for(client, TRADER))
    assert me.json()["tier"] == "vip"

    receipt = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "receipt"))
    assert receipt is not None
    assert receipt.priority == Priority.transactional
    assert receipt.chat_id == TRADER
    await drain_outbox(settings, database)
    await session.refresh(receipt)
    assert receipt.status == OutboxStatus.sent
    assert any("Payment received" in text for text in telegram_api.delivered_texts())

    # Telegram redelivers the update: still one payment, one grant, one receipt.
    assert (await updates.post(client, paid)).status_code == 200
    assert await _count(session, Payment, Payment.provider_payment_id == "stxCharge1") == 1
    assert await _count(session, Entitlement, Entitlement.user_id == user.id) == 1
    assert await _count(session, OutboxMessage, OutboxMessage.kind == "receipt") == 1


async def test_pre_checkout_refuses_a_stale_price_and_a_stranger(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    product = await create_product(session, code="premium_month", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    payload = InvoicePayload(product.code, user.id).encode()

    product.price_stars = 1800
    await session.commit()
    await updates.post(client, updates.pre_checkout(TRADER, payload, 1500))
    answer = telegram_api.of("answerPreCheckoutQuery")[-1]
    assert answer.params["ok"] == "false"
    assert "1800 Stars" in answer.params["error_message"]

    await updates.post(client, updates.pre_checkout(TRADER + 1, payload, 1800))
    assert "someone else" in telegram_api.of("answerPreCheckoutQuery")[-1].params["error_message"]

    product.is_active = False
    await session.commit()
    await updates.post(client, updates.pre_checkout(TRADER, payload, 1800))
    assert (
        "no longer on sale" in telegram_api.of("answerPreCheckoutQuery")[-1].params["error_message"]
    )

    await updates.post(client, updates.pre_checkout(TRADER, "garbage", 1800))
    assert "not valid" in telegram_api.of("answerPreCheckoutQuery")[-1].params["error_message"]


async def test_a_subscription_renewal_extends_the_tier(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    product = await create_product(session, code="premium_sub", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()

    await updates.post(client, updates.command(TRADER, "/shop"))
    subscribe = telegram_api.of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][1]
    await updates.post(client, updates.callback(TRADER, subscribe["callback_data"]))
    link = telegram_api.of("createInvoiceLink")[-1]
    assert link.params["subscription_period"] == "2592000"
    assert link.params["currency"] == "XTR"
    button = telegram_api.of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"].startswith("https://t.me/$")

    payload = link.params["payload"]
    await updates.post(client, updates.successful_payment(TRADER, payload, 1500, "sub1"))
    await updates.post(
        client, updates.successful_payment(TRADER, payload, 1500, "sub2", is_recurring=True)
    )
    rows = (
        await session.scalars(
            select(Entitlement).where(Entitlement.user_id == user.id).order_by(Entitlement.id)
        )
    ).all()
    assert len(rows) == 2
    assert rows[1].starts_at == rows[0].expires_at
    renewal = await session.scalar(select(Payment).where(Payment.provider_payment_id == "sub2"))
    assert renewal is not None
    assert renewal.is_recurring
    assert product.duration_days == 30


async def test_admin_refund_calls_telegram_and_revokes(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    product = await create_product(session, code="premium_r", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    await create_user(session, telegram_id=900, role=Role.admin)
    await session.commit()
    payload = InvoicePayload(product.code, user.id).encode()
    await updates.post(client, updates.successful_payment(TRADER, payload, 1500, "chargeR"))

    await updates.post(client, updates.command(TRADER, "/refund chargeR"))
    assert telegram_api.of("refundStarPayment") == []
    assert "Only admins" in telegram_api.of("sendMessage")[-1].params["text"]

    await updates.post(client, updates.command(900, "/refund nope"))
    assert "No Stars payment" in telegram_api.of("sendMessage")[-1].params["text"]

    await updates.post(client, updates.command(900, "/refund chargeR"))
    refund = telegram_api.of("refundStarPayment")[-1]
    assert refund.params == {"user_id": str(TRADER), "telegram_payment_charge_id": "chargeR"}
    payment = await session.scalar(select(Payment).where(Payment.provider_payment_id == "chargeR"))
    assert payment is not None
    await session.refresh(payment)
    assert payment.status == PaymentStatus.refunded
    entitlement = await session.scalar(select(Entitlement).where(Entitlement.user_id == user.id))
    assert entitlement is not None
    await session.refresh(entitlement)
    assert entitlement.revoked_at is not None
    admin = await users.get_by_telegram_id(session, 900)
    assert admin is not None
    assert (
        await _count(
            session,
            AuditLog,
            AuditLog.action == "payment.refunded",
            AuditLog.actor_user_id == admin.id,
        )
        == 1
    )

    # Telegram then reports the refund: nothing changes a second time.
    await updates.post(client, updates.refunded_payment(TRADER, payload, 1500, "chargeR"))
    assert await _count(session, AuditLog, AuditLog.action == "payment.refunded") == 1


async def test_a_refunded_payment_update_revokes_even_before_the_payment(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    product = await create_product(session, code="premium_u", price_stars=1500)
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    payload = InvoicePayload(product.code, user.id).encode()

    await updates.post(client, updates.successful_payment(TRADER, payload, 1500, "c1"))
    await updates.post(client, updates.refunded_payment(TRADER, payload, 1500, "c1"))
    me = await client.get("/api/v1/me", headers=await bearer_for(client, TRADER))
    assert me.json()["tier"] == "free"

    # Out of order: the refund first, then the payment; it must end refunded, nothing granted.
    await updates.post(client, updates.refunded_payment(TRADER, payload, 1500, "c2"))
    await updates.post(client, updates.successful_payment(TRADER, payload, 1500, "c2"))
    late = await session.scalar(select(Payment).where(Payment.provider_payment_id == "c2"))
    assert late is not None
    assert late.status == PaymentStatus.refunded
    assert await _count(session, Entitlement, Entitlement.payment_id == late.id) == 0


async def test_a_payment_for_someone_elses_invoice_is_refused_and_rolled_back(
    client: httpx.AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    product = await create_product(session, code="premium_x", price_stars=1500)
    owner = await create_user(session, telegram_id=TRADER)
    await session.commit()
    payload = InvoicePayload(product.code, owner.id).encode()

    stranger = updates.successful_payment(TRADER + 7, payload, 1500, "cX")
    response = await updates.post(client, stranger)
    assert response.status_code == 200
    assert await _count(session, Payment, Payment.provider_payment_id == "cX") == 0
    assert any(record.getMessage() == "telegram update refused" for record in caplog.records)
