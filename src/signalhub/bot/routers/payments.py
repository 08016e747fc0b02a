"""Stars checkout: pre-checkout answer, successful payment, refund notice. The rules live in
`billing.stars.service`; these handlers only translate updates."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message, PreCheckoutQuery
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars import service as stars
from signalhub.config import Settings
from signalhub.kit.time import utcnow
from signalhub.models import User


async def pre_checkout(query: PreCheckoutQuery, session: AsyncSession) -> None:
    """Telegram waits 10 s for this answer: a few indexed reads, then one call."""
    error = await stars.check_pre_checkout(
        session,
        payload=query.invoice_payload,
        payer_telegram_id=query.from_user.id,
        total_amount=query.total_amount,
        currency=query.currency,
    )
    if error is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=error)


async def successful_payment(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    payment = message.successful_payment
    assert payment is not None
    await stars.record_successful_payment(
        session,
        settings,
        payer=user,
        telegram_payment_charge_id=payment.telegram_payment_charge_id,
        provider_payment_charge_id=payment.provider_payment_charge_id,
        payload=payment.invoice_payload,
        total_amount=payment.total_amount,
        currency=payment.currency,
        is_recurring=bool(payment.is_recurring),
        now=utcnow(),
    )


async def refunded_payment(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    refund = message.refunded_payment
    assert refund is not None
    await stars.record_refund(
        session,
        settings,
        telegram_payment_charge_id=refund.telegram_payment_charge_id,
        payload=refund.invoice_payload,
        total_amount=refund.total_amount,
        payer=user,
        actor_user_id=None,
        now=utcnow(),
    )


def create_router() -> Router:
    router = Router(name="payments")
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, F.successful_payment)
    router.message.register(refunded_payment, F.refunded_payment)
    return router
