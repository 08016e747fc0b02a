"""Stars payment rules, shared by the bot's payment handlers and the admin refund command.

The invoice payload carries what was bought and for whom (`buy:<product code>:<user id>`); the
ledger key is Telegram's `telegram_payment_charge_id`, unique per provider, so a redelivered
update finds its payment and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.billing import service as billing
from signalhub.catalog import service as catalog
from signalhub.entitlements import service as entitlements
from signalhub.errors import AppError, Forbidden, NotFound
from signalhub.models import Payment, PaymentProvider, PaymentStatus, Priority, Product, User
from signalhub.outbox import service as outbox
from signalhub.users import service as users

CURRENCY = "XTR"
# Telegram accepts exactly this subscription period (30 days).
SUBSCRIPTION_PERIOD_S = 30 * 24 * 3600
SUBSCRIPTION_DAYS = 30
PAYLOAD_PREFIX = "buy"


class InvalidPayload(AppError):
    code = "invalid_invoice_payload"


@dataclass(frozen=True)
class InvoicePayload:
    product_code: str
    user_id: int

    def encode(self) -> str:
        return f"{PAYLOAD_PREFIX}:{self.product_code}:{self.user_id}"

    @classmethod
    def decode(cls, payload: str) -> InvoicePayload:
        prefix, _, rest = payload.partition(":")
        code, _, user_id = rest.rpartition(":")
        if prefix != PAYLOAD_PREFIX or not code or not user_id.isdigit():
            raise InvalidPayload(f"Unrecognised invoice payload {payload!r}.")
        return cls(code, int(user_id))


@dataclass(frozen=True)
class Invoice:
    product: Product
    payload: str
    subscription: bool


@dataclass(frozen=True)
class StarsPaymentResult:
    payment: Payment
    created: bool
    expires_at: datetime | None


def can_subscribe(product: Product) -> bool:
    """Stars subscriptions renew every 30 days, so only monthly products are offered that way."""
    return product.duration_days == SUBSCRIPTION_DAYS


async def invoice_for(
    session: AsyncSession, product_code: str, user: User, *, subscription: bool
) -> Invoice:
    product = await catalog.find_by_code(session, product_code)
    if product is None or not product.is_active:
        raise NotFound("This product is no longer on sale.", code="product_not_found")
    if subscription and not can_subscribe(product):
        raise AppError("Only monthly products can be subscribed to.", code="not_subscribable")
    return Invoice(product, InvoicePayload(product.code, user.id).encode(), subscription)


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
    *,
    payer: User,
    telegram_payment_charge_id: str,
    provider_payment_charge_id: str | None,
    payload: str,
    total_amount: int,
    currency: str,
    is_recurring: bool,
    now: datetime,
) -> StarsPaymentResult:
    """Ledger, entitlement and receipt, once per charge; subscription renewals arrive as new
    charges and extend the running period."""
    order = InvoicePayload.decode(payload)
    if order.user_id != payer.id:
        raise Forbidden("The invoice belongs to another user.", code="payer_mismatch")
    product = await catalog.get_by_code(session, order.product_code)
    payment, created = await billing.record_payment(
        session,
        provider=PaymentProvider.telegram_stars,
        provider_payment_id=telegram_payment_charge_id,
        user_id=payer.id,
        product_id=product.id,
        amount_minor=total_amount,
        currency=currency,
        status=PaymentStatus.succeeded,
        now=now,
        details={
            "invoice_payload": payload,
            "provider_payment_charge_id": provider_payment_charge_id,
        },
        is_recurring=is_recurring,
    )
    if payment.status != PaymentStatus.succeeded:
        # Refunded before this update reached us: the refund wins, whatever the order.
        return StarsPaymentResult(payment, created=False, expires_at=None)
    granted = await entitlements.grant(session, product, payment, now)
    if created:
        await outbox.enqueue(
            session,
            payer.telegram_id,
            _receipt_text(product, total_amount, granted.entitlement.expires_at, is_recurring),
            priority=Priority.transactional,
            kind="receipt",
            user_id=payer.id,
        )
    return StarsPaymentResult(payment, created, granted.entitlement.expires_at)


def _receipt_text(product: Product, stars: int, expires_at: datetime, is_recurring: bool) -> str:
    what = "Subscription renewed" if is_recurring else "Payment received"
    return (
        f"{what}: {product.name}, {stars} Stars.\n"
        f"Your {product.tier} access runs until {expires_at:%Y-%m-%d %H:%M} UTC."
    )


async def find_charge(
    session: AsyncSession, telegram_payment_charge_id: str
) -> tuple[Payment, User]:
    """The payment to refund and its payer (the Bot API refunds by the payer's Telegram id)."""
    payment = await billing.find_payment(
        session, PaymentProvider.telegram_stars, telegram_payment_charge_id
    )
    if payment is None:
        raise NotFound("No Stars payment with that charge id.", code="payment_not_found")
    return payment, await users.get(session, payment.user_id)


async def record_refund(
    session: AsyncSession,
    *,
    telegram_payment_charge_id: str,
    payload: str,
    total_amount: int,
    payer: User | None,
    actor_user_id: int | None,
    now: datetime,
) -> Payment:
    """Marks the charge refunded and revokes what it bought; idempotent. A refund for a charge
    we never recorded is recorded as refunded, so the late payment update grants nothing."""
    payment = await billing.find_payment(
        session, PaymentProvider.telegram_stars, telegram_payment_charge_id
    )
    changed = True
    if payment is None:
        order = InvoicePayload.decode(payload)
        product = await catalog.find_by_code(session, order.product_code)
        user_id = payer.id if payer is not None else order.user_id
        payment, _ = await billing.record_payment(
            session,
            provider=PaymentProvider.telegram_stars,
            provider_payment_id=telegram_payment_charge_id,
            user_id=user_id,
            product_id=product.id if product else None,
            amount_minor=total_amount,
            currency=CURRENCY,
            status=PaymentStatus.refunded,
            now=now,
            details={"invoice_payload": payload},
        )
    elif payment.status != PaymentStatus.refunded:
        payment.refunded_amount_minor = total_amount
        await billing.set_status(session, payment, PaymentStatus.refunded, reason="refunded")
    else:
        changed = False
    revoked = await entitlements.revoke(session, payment, "refunded", now)
    if not changed:
        return payment
    await audit.record(
        session,
        "payment.refunded",
        subject_type="payment",
        subject_id=payment.id,
        user_id=payment.user_id,
        actor_user_id=actor_user_id,
        data={
            "provider": PaymentProvider.telegram_stars,
            "telegram_payment_charge_id": telegram_payment_charge_id,
            "amount_minor": total_amount,
            "revoked_entitlement_id": revoked.id if revoked else None,
        },
    )
    return payment
