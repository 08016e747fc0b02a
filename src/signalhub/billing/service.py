"""Billing as the trader sees it: the overview, and payment requests (an invoice or a checkout
opened for one product), created from the Mini App's payment page and the bot's /shop alike.
What a payment then does to the ledger and the tier is `billing.settlement`'s."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.repository import (
    IdempotencyKeyRepository,
    PaymentRepository,
    PaymentRequestRepository,
)
from signalhub.billing.schemas import (
    BillingOut,
    LedgerEntryOut,
    PaymentCreate,
    PaymentOut,
    PaymentRequestOut,
)
from signalhub.billing.stars import bot_api as stars_bot_api
from signalhub.billing.stars import service as stars
from signalhub.billing.stripe.client import StripeApi
from signalhub.catalog import service as catalog
from signalhub.entitlements import service as entitlements
from signalhub.errors import AppError, Conflict, NotFound, Unprocessable
from signalhub.models import (
    PaymentMethod,
    PaymentRequest,
    PaymentRequestStatus,
    PaymentStatus,
    Product,
    User,
)
from signalhub.users.signed_in import SignedInUser

RECENT_PAYMENTS = 5


class MethodUnavailable(Conflict):
    code = "method_unavailable"


class TelegramUnavailable(AppError):
    status_code = 503
    code = "telegram_unavailable"


async def overview(session: AsyncSession, user_id: int, now: datetime) -> BillingOut:
    current = await entitlements.current(session, user_id, now)
    rows = await PaymentRepository(session).recent_for_user(user_id, RECENT_PAYMENTS)
    return BillingOut(
        tier=current.tier,
        expires_at=current.expires_at,
        payments=[
            PaymentOut(
                id=payment.id,
                provider=payment.provider,
                product_code=product.code if product else None,
                product_name=product.name if product else None,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                status=payment.status,
                created_at=payment.created_at,
            )
            for payment, product in rows
        ],
    )


async def create_payment(
    session: AsyncSession,
    user: User,
    order: PaymentCreate,
    *,
    attempt_id: str,
    bot: Bot | None,
    stripe: StripeApi | None,
) -> PaymentRequestOut:
    """Opens a Stars invoice link or a Stripe Checkout Session for the product. `attempt_id`
    is the same on every retry of one attempt, so Stripe answers a retry with the session it
    already made."""
    if order.method is PaymentMethod.stars:
        if bot is None:
            raise MethodUnavailable("Stars payments are not available: the bot is not set up.")
        invoice = await stars.open_invoice(session, user, order.product)
        try:
            invoice.request.invoice_link = await stars_bot_api.create_link(bot, invoice)
        except TelegramAPIError as error:
            raise TelegramUnavailable(f"Telegram did not create the invoice: {error}") from error
        request, product = invoice.request, invoice.product
    else:
        if stripe is None:
            raise MethodUnavailable("Card payments (Stripe) are not available here.")
        product = await catalog.get_on_sale(session, order.product)
        repository = PaymentRequestRepository(session)
        if await repository.get_by_attempt(attempt_id) is not None:
            raise Unprocessable(
                "This Idempotency-Key was already used; use a new key.",
                code="idempotency_key_reused",
            )
        request = await repository.add(
            PaymentRequest(
                user_id=user.id,
                product_id=product.id,
                method=PaymentMethod.stripe,
                status=PaymentRequestStatus.pending,
                amount_minor=product.price_amount_minor,
                currency=product.price_currency,
                attempt_id=attempt_id,
            )
        )
        checkout = await stripe.create_checkout_session(
            user_id=user.id, product=product, attempt_id=attempt_id
        )
        request.checkout_session_id = checkout.id
        request.checkout_url = checkout.url
        request.expires_at = checkout.expires_at
    await session.flush()
    return _request_out(request, product)


async def get_payment(
    session: AsyncSession, user: SignedInUser, request_id: int, now: datetime
) -> PaymentRequestOut:
    """What the Stripe webhook or the Stars `successful_payment` recorded for this attempt;
    another user's attempt is a 404."""
    repository = PaymentRequestRepository(session)
    request = await repository.get(request_id)
    if request is None or request.user_id != user.id:
        raise NotFound("No such payment.", code="payment_not_found")
    product = await catalog.get(session, request.product_id)
    assert product is not None
    out = _request_out(request, product)
    if request.status is PaymentRequestStatus.paid:
        payment = await repository.latest_payment(request.id)
        entitlement = await entitlements.for_payment(session, payment.id) if payment else None
        if entitlement is not None:
            out.tier = entitlement.tier
            out.tier_expires_at = entitlement.expires_at
    elif (
        request.status is PaymentRequestStatus.pending
        and request.expires_at is not None
        and request.expires_at <= now
    ):
        out.status = PaymentRequestStatus.expired
    return out


async def ledger(
    session: AsyncSession, status: PaymentStatus | None, limit: int
) -> list[LedgerEntryOut]:
    rows = await PaymentRepository(session).latest(status, limit)
    return [
        LedgerEntryOut(
            id=payment.id,
            user_id=payment.user_id,
            provider=payment.provider,
            provider_payment_id=payment.provider_payment_id,
            product_code=product.code if product else None,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            status=payment.status,
            refunded_amount_minor=payment.refunded_amount_minor,
            failure_reason=payment.failure_reason,
            created_at=payment.created_at,
        )
        for payment, product in rows
    ]


async def purge_expired_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    return await IdempotencyKeyRepository(session).delete_expired(now)


def _request_out(request: PaymentRequest, product: Product) -> PaymentRequestOut:
    return PaymentRequestOut(
        id=request.id,
        method=request.method,
        status=request.status,
        product=product.code,
        amount_minor=request.amount_minor,
        currency=request.currency,
        invoice_link=request.invoice_link,
        checkout_url=request.checkout_url,
        expires_at=request.expires_at,
    )
