"""One function per Stripe event type, each a translator: it reads its Stripe object and tells
`billing.settlement` what it learnt about one payment. Status, entitlement, receipts and alerts
are decided there, for Stripe and Stars alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing import settlement
from signalhub.billing.repository import PaymentRequestRepository
from signalhub.billing.settlement import CannotSettle, PaymentReport
from signalhub.billing.state import Dispute, PaymentFacts
from signalhub.billing.stripe import objects
from signalhub.billing.stripe.client import ATTEMPT_KEY
from signalhub.billing.stripe.errors import PaymentNotYetKnown
from signalhub.catalog import service as catalog
from signalhub.config import Settings
from signalhub.kit.money import format_amount
from signalhub.models import Payment, PaymentProvider, PaymentRequest, Product, User
from signalhub.outbox import service as outbox
from signalhub.users import service as users

logger = logging.getLogger(__name__)

ObjectT = TypeVar("ObjectT", bound=objects.StripeObject)


@dataclass(frozen=True)
class EventContext:
    session: AsyncSession
    settings: Settings
    event_id: str
    now: datetime


Handler = Callable[[EventContext, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Purchase:
    """Who bought what, read from the metadata our checkout put on the Stripe objects."""

    user: User
    product: Product
    payment_request: PaymentRequest | None


async def charge_succeeded(context: EventContext, data: dict[str, Any]) -> None:
    await _settle_charge(context, _read(objects.Charge, data), PaymentFacts(succeeded=True))


async def checkout_session_completed(context: EventContext, data: dict[str, Any]) -> None:
    checkout = _read(objects.CheckoutSession, data)
    # Delayed payment methods complete the session unpaid; their charge event settles it.
    if checkout.payment_status != "paid":
        return
    if checkout.amount_total is None or checkout.currency is None:
        raise CannotSettle("a paid checkout session without amount_total or currency")
    purchase = await _purchase(context, checkout)
    await _settle(
        context,
        purchase,
        provider_payment_id=checkout.payment_intent or checkout.id,
        amount_minor=checkout.amount_total,
        currency=checkout.currency,
        details={"checkout_session_id": checkout.id},
        facts=PaymentFacts(succeeded=True),
    )


async def charge_failed(context: EventContext, data: dict[str, Any]) -> None:
    charge = _read(objects.Charge, data)
    await _settle_charge(
        context,
        charge,
        PaymentFacts(failed=True),
        failure_reason=charge.failure_message or "The payment was declined.",
    )


async def charge_refunded(context: EventContext, data: dict[str, Any]) -> None:
    charge = _read(objects.Charge, data)
    await _settle_charge(
        context,
        charge,
        PaymentFacts(
            # Only a charge that went through can be refunded: if this event is the first we
            # hear of it, it also tells us the payment succeeded.
            succeeded=True,
            refunded_minor=charge.amount_refunded,
            fully_refunded=charge.amount_refunded >= charge.amount,
        ),
    )


async def dispute_created(context: EventContext, data: dict[str, Any]) -> None:
    dispute = _read(objects.Dispute, data)
    payment = await _settle_dispute(context, dispute, Dispute.open)
    await outbox.alert_admins(
        context.session,
        context.settings.admin_telegram_ids,
        f"Stripe dispute {dispute.id} opened on payment {payment.id} "
        f"(user {payment.user_id}, {format_amount(dispute.amount, payment.currency)}, "
        f"reason: {dispute.reason or 'unknown'}).",
        kind="admin_alert",
    )


async def dispute_closed(context: EventContext, data: dict[str, Any]) -> None:
    dispute = _read(objects.Dispute, data)
    outcome = Dispute.lost if dispute.status == "lost" else Dispute.won
    payment = await _settle_dispute(context, dispute, outcome)
    await outbox.alert_admins(
        context.session,
        context.settings.admin_telegram_ids,
        f"Stripe dispute {dispute.id} on payment {payment.id} closed: {outcome.value}"
        + (", access revoked." if outcome is Dispute.lost else "."),
        kind="admin_alert",
    )


HANDLERS: dict[str, Handler] = {
    "charge.succeeded": charge_succeeded,
    "checkout.session.completed": checkout_session_completed,
    "charge.failed": charge_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
}


def _read(model: type[ObjectT], data: dict[str, Any]) -> ObjectT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in item["loc"]) for item in error.errors()})
        raise CannotSettle(
            f"unusable {model.__name__}: bad or missing {', '.join(fields)}"
        ) from None


async def _settle_charge(
    context: EventContext,
    charge: objects.Charge,
    facts: PaymentFacts,
    *,
    failure_reason: str | None = None,
) -> None:
    """A charge belongs to the payment of its PaymentIntent, so Checkout's event and the
    charge's own event meet on one ledger row; a charge without one stands alone."""
    details = {"charge_id": charge.id}
    if failure_reason is not None:
        details["failure_message"] = failure_reason
    await _settle(
        context,
        await _purchase(context, charge),
        provider_payment_id=charge.payment_intent or charge.id,
        amount_minor=charge.amount,
        currency=charge.currency,
        details=details,
        facts=facts,
        failure_reason=failure_reason,
    )


async def _settle(
    context: EventContext,
    purchase: Purchase,
    *,
    provider_payment_id: str,
    amount_minor: int,
    currency: str,
    details: dict[str, Any],
    facts: PaymentFacts,
    failure_reason: str | None = None,
) -> None:
    result = await settlement.settle(
        context.session,
        context.settings,
        PaymentReport(
            provider=PaymentProvider.stripe,
            provider_payment_id=provider_payment_id,
            user_id=purchase.user.id,
            product=purchase.product,
            amount_minor=amount_minor,
            currency=currency,
            facts=facts,
            payment_request=purchase.payment_request,
            details=details,
            failure_reason=failure_reason,
        ),
        context.now,
    )
    _log("stripe payment settled", context, result.payment)


async def _settle_dispute(
    context: EventContext, dispute: objects.Dispute, outcome: Dispute
) -> Payment:
    for key in (dispute.payment_intent, dispute.charge):
        if key:
            result = await settlement.settle_known(
                context.session,
                context.settings,
                PaymentProvider.stripe,
                key,
                PaymentFacts(dispute=outcome),
                context.now,
            )
            if result is not None:
                _log("stripe payment settled", context, result.payment)
                return result.payment
    logger.warning(
        "stripe dispute for an unknown payment",
        extra={"event_id": context.event_id, "charge_id": dispute.charge},
    )
    raise PaymentNotYetKnown(f"No payment for disputed charge {dispute.charge}.")


async def _purchase(context: EventContext, stripe_object: objects.StripeObject) -> Purchase:
    metadata = stripe_object.metadata
    user = await _user(context, metadata)
    code = metadata.get("product")
    if not code:
        raise CannotSettle("metadata names no product")
    product = await catalog.find_by_code(context.session, code)
    if product is None:
        raise CannotSettle(f"unknown product '{code}'")
    attempt = metadata.get(ATTEMPT_KEY)
    request = (
        await PaymentRequestRepository(context.session).get_by_attempt(attempt) if attempt else None
    )
    return Purchase(user, product, request)


async def _user(context: EventContext, metadata: dict[str, str]) -> User:
    try:
        if metadata.get("user_id"):
            # The payer's money lock, which settling takes anyway: one read, not two.
            user = await settlement.lock_payer(context.session, _bigint(metadata["user_id"]))
        elif metadata.get("telegram_id"):
            user = await users.get_by_telegram_id(context.session, _bigint(metadata["telegram_id"]))
        else:
            raise CannotSettle("metadata names no user")
    except ValueError:
        raise CannotSettle("metadata has a malformed user id") from None
    if user is None:
        raise CannotSettle("no such user")
    return user


def _bigint(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 2**63 - 1:
        raise ValueError(text)
    return value


def _log(message: str, context: EventContext, payment: Payment) -> None:
    logger.debug(
        message,
        extra={
            "event_id": context.event_id,
            "user_id": payment.user_id,
            "payment_id": payment.id,
            "status": payment.status,
        },
    )
