"""Telegram Stars, translated: invoices are opened as payment requests, and pre-checkout,
`successful_payment` and refunds become calls to `billing.settlement`.

The invoice payload names what was bought, for whom and under which payment request
(`buy:<product code>:<user id>:<request id>`; invoices made before payment requests existed omit
the last part). The ledger key is Telegram's `telegram_payment_charge_id`, unique per provider,
so a redelivered update finds its payment and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing import settlement
from signalhub.billing.repository import PaymentRequestRepository
from signalhub.billing.settlement import PaymentReport
from signalhub.billing.state import PaymentFacts
from signalhub.catalog import service as catalog
from signalhub.config import Settings
from signalhub.errors import AppError, NotFound
from signalhub.kit.money import STARS
from signalhub.models import (
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentRequest,
    PaymentRequestStatus,
    Product,
    User,
)
from signalhub.users import service as users

CURRENCY = STARS
# Telegram accepts exactly this subscription period (30 days).
SUBSCRIPTION_PERIOD_S = 30 * 24 * 3600
SUBSCRIPTION_DAYS = 30
PAYLOAD_PREFIX = "buy"
MAX_ID = 2**63 - 1


class InvalidPayload(AppError):
    code = "invalid_invoice_payload"


@dataclass(frozen=True)
class InvoicePayload:
    product_code: str
    user_id: int
    payment_request_id: int | None = None

    def encode(self) -> str:
        parts = [PAYLOAD_PREFIX, self.product_code, str(self.user_id)]
        if self.payment_request_id is not None:
            parts.append(str(self.payment_request_id))
        return ":".join(parts)

    @classmethod
    def decode(cls, payload: str) -> InvoicePayload:
        parts = payload.split(":")
        ids = parts[2:]
        if (
            len(parts) not in (3, 4)
            or parts[0] != PAYLOAD_PREFIX
            or not parts[1]
            or not all(map(_is_id, ids))
        ):
            raise InvalidPayload(f"Unrecognised invoice payload {payload!r}.")
        return cls(parts[1], int(ids[0]), int(ids[1]) if len(ids) == 2 else None)


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


@dataclass(frozen=True)
class Invoice:
    """A Stars invoice as both the bot's /shop and the Mini App's payment page open it."""

    request: PaymentRequest
    product: Product
    payload: str

    @property
    def subscription(self) -> bool:
        return self.request.is_subscription

    @property
    def title(self) -> str:
        return self.product.name[:32]

    @property
    def description(self) -> str:
        return (self.product.description or f"{self.product.name}: {self.product.tier}")[:255]


def can_subscribe(product: Product) -> bool:
    """Stars subscriptions renew every 30 days, so only monthly products are offered that way."""
    return product.duration_days == SUBSCRIPTION_DAYS


async def open_invoice(
    session: AsyncSession, user: User, product_code: str, *, subscription: bool = False
) -> Invoice:
    """A payment request at the product's Stars price, and the invoice payload naming it."""
    product = await catalog.get_on_sale(session, product_code)
    if subscription and not can_subscribe(product):
        raise AppError("Only monthly products can be subscribed to.", code="not_subscribable")
    request = await PaymentRequestRepository(session).add(
        PaymentRequest(
            user_id=user.id,
            product_id=product.id,
            method=PaymentMethod.stars,
            status=PaymentRequestStatus.pending,
            amount_minor=product.price_stars,
            currency=CURRENCY,
            is_subscription=subscription,
        )
    )
    payload = InvoicePayload(product.code, user.id, request.id).encode()
    return Invoice(request, product, payload)


async def check_pre_checkout(
    session: AsyncSession,
    *,
    payload: str,
    payer_telegram_id: int,
    total_amount: int,
    currency: str,
) -> str | None:
    """None when the order can be charged, else the reason shown to the payer."""
    try:
        order = InvoicePayload.decode(payload)
    except InvalidPayload:
        return "This invoice is not valid any more. Please open /shop again."
    user = await users.find(session, order.user_id)
    if user is None or user.telegram_id != payer_telegram_id:
        return "This invoice was issued to someone else. Please open /shop yourself."
    product = await catalog.find_by_code(session, order.product_code)
    if product is None or not product.is_active:
        return "This product is no longer on sale. Please open /shop again."
    if currency != CURRENCY or total_amount != product.price_stars:
        return (
            f"The price has changed to {product.price_stars} Stars. "
            "Please open /shop again for a fresh invoice."
        )
    return None


async def record_successful_payment(
    session: AsyncSession,
    settings: Settings,
    *,
    payer: User,
    telegram_payment_charge_id: str,
    provider_payment_charge_id: str | None,
    payload: str,
    total_amount: int,
    currency: str,
    is_recurring: bool,
    now: datetime,
) -> settlement.Settlement:
    """Ledger, entitlement and receipt, once per charge; subscription renewals arrive as new
    charges and extend the running period."""
    order, product = await _order(session, settings, payload, telegram_payment_charge_id, payer)
    return await settlement.settle(
        session,
        settings,
        PaymentReport(
            provider=PaymentProvider.telegram_stars,
            provider_payment_id=telegram_payment_charge_id,
            user_id=payer.id,
            product=product,
            amount_minor=total_amount,
            currency=currency,
            facts=PaymentFacts(succeeded=True),
            payment_request=await _request(session, order),
            details={
                "invoice_payload": payload,
                "provider_payment_charge_id": provider_payment_charge_id,
            },
            is_recurring=is_recurring,
        ),
        now,
    )


async def find_charge(
    session: AsyncSession, telegram_payment_charge_id: str
) -> tuple[Payment, User]:
    """The payment to refund and its payer (the Bot API refunds by the payer's Telegram id)."""
    payment = await settlement.find_payment(
        session, PaymentProvider.telegram_stars, telegram_payment_charge_id
    )
    if payment is None:
        raise NotFound("No Stars payment with that charge id.", code="payment_not_found")
    return payment, await users.get(session, payment.user_id)


async def record_refund(
    session: AsyncSession,
    settings: Settings,
    *,
    telegram_payment_charge_id: str,
    payload: str,
    total_amount: int,
    payer: User,
    actor_user_id: int | None,
    now: datetime,
) -> Payment:
    """Marks the charge refunded and revokes what it bought; idempotent. A refund for a charge
    we never recorded is recorded as refunded, so the late payment update grants nothing."""
    refunded = PaymentFacts(succeeded=True, refunded_minor=total_amount, fully_refunded=True)
    known = await settlement.settle_known(
        session,
        settings,
        PaymentProvider.telegram_stars,
        telegram_payment_charge_id,
        refunded,
        now,
        actor_user_id=actor_user_id,
    )
    if known is not None:
        return known.payment
    order, product = await _order(session, settings, payload, telegram_payment_charge_id, payer)
    result = await settlement.settle(
        session,
        settings,
        PaymentReport(
            provider=PaymentProvider.telegram_stars,
            provider_payment_id=telegram_payment_charge_id,
            user_id=payer.id,
            product=product,
            amount_minor=total_amount,
            currency=CURRENCY,
            facts=refunded,
            payment_request=await _request(session, order),
            details={"invoice_payload": payload},
        ),
        now,
        actor_user_id=actor_user_id,
    )
    return result.payment


async def _request(session: AsyncSession, order: InvoicePayload) -> PaymentRequest | None:
    if order.payment_request_id is None:
        return None
    return await PaymentRequestRepository(session).get(order.payment_request_id)


async def _order(
    session: AsyncSession, settings: Settings, payload: str, charge_id: str, payer: User
) -> tuple[InvoicePayload, Product]:
    """The invoice's order, or a refusal: audited, told to the admins, and final."""
    try:
        order = InvoicePayload.decode(payload)
    except InvalidPayload:
        order = None
    product = await catalog.find_by_code(session, order.product_code) if order else None
    if order is None:
        reason = "the invoice payload is not ours"
    elif order.user_id != payer.id:
        reason = f"the invoice was issued to user {order.user_id}"
    elif product is None:
        reason = f"unknown product '{order.product_code}'"
    else:
        return order, product
    raise await settlement.refuse(
        session,
        settings,
        provider=PaymentProvider.telegram_stars,
        provider_payment_id=charge_id,
        user_id=payer.id,
        reason=reason,
    )
