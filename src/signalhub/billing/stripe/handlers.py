"""One function per Stripe event type. Each turns its event into facts about one payment;
`billing.stripe.state` decides the payment's status and whether its entitlement stands."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing import service as billing
from signalhub.billing.stripe.errors import EventCannotSucceed, PaymentNotYetKnown
from signalhub.billing.stripe.state import Dispute, PaymentFacts
from signalhub.catalog import service as catalog
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.models import Payment, PaymentProvider, PaymentStatus, Product, User
from signalhub.outbox import service as outbox
from signalhub.users import service as users

logger = logging.getLogger(__name__)

FACTS_KEY = "facts"


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


async def charge_succeeded(context: EventContext, charge: dict[str, Any]) -> None:
    await _record_charge(context, charge, PaymentFacts(succeeded=True))


async def checkout_session_completed(context: EventContext, checkout: dict[str, Any]) -> None:
    # Delayed payment methods complete the session unpaid; their charge event settles it.
    if checkout.get("payment_status") != "paid":
        return
    purchase = await _purchase(context, checkout)
    await _record(
        context,
        purchase,
        provider_payment_id=_id_of(checkout.get("payment_intent")) or checkout["id"],
        amount_minor=int(checkout["amount_total"]),
        currency=checkout["currency"],
        details={"checkout_session_id": checkout["id"]},
        incoming=PaymentFacts(succeeded=True),
    )


async def charge_failed(context: EventContext, charge: dict[str, Any]) -> None:
    reason = charge.get("failure_message") or "The payment was declined."
    payment, purchase = await _record_charge(
        context, charge, PaymentFacts(failed=True), failure_message=reason
    )
    # A failed attempt delivered after a later attempt succeeded is history, not news.
    if payment.status == PaymentStatus.failed:
        await outbox.enqueue(
            context.session,
            purchase.user.telegram_id,
            f"Your payment for {purchase.product.name} did not go through: {reason}",
            kind="payment_failed",
            user_id=purchase.user.id,
        )


async def charge_refunded(context: EventContext, charge: dict[str, Any]) -> None:
    refunded = int(charge.get("amount_refunded") or 0)
    await _record_charge(
        context,
        charge,
        PaymentFacts(
            # Only a charge that went through can be refunded: if this event is the first we
            # hear of it, it also tells us the payment succeeded.
            succeeded=True,
            refunded_minor=refunded,
            fully_refunded=refunded >= int(charge["amount"]),
        ),
    )


async def dispute_created(context: EventContext, dispute: dict[str, Any]) -> None:
    payment = await _disputed_payment(context, dispute)
    await _update(context, payment, PaymentFacts(dispute=Dispute.open))
    await outbox.alert_admins(
        context.session,
        context.settings.admin_telegram_ids,
        f"Stripe dispute {dispute['id']} opened on payment {payment.id} "
        f"(user {payment.user_id}, {int(dispute['amount']) / 100:.2f} {payment.currency}, "
        f"reason: {dispute.get('reason') or 'unknown'}).",
        kind="admin_alert",
    )


async def dispute_closed(context: EventContext, dispute: dict[str, Any]) -> None:
    payment = await _disputed_payment(context, dispute)
    outcome = Dispute.lost if dispute.get("status") == "lost" else Dispute.won
    await _update(context, payment, PaymentFacts(dispute=outcome))
    await outbox.alert_admins(
        context.session,
        context.settings.admin_telegram_ids,
        f"Stripe dispute {dispute['id']} on payment {payment.id} closed: {outcome.value}"
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


async def _record_charge(
    context: EventContext,
    charge: dict[str, Any],
    incoming: PaymentFacts,
    *,
    failure_message: str | None = None,
) -> tuple[Payment, Purchase]:
    """A charge belongs to the payment of its PaymentIntent, so Checkout's event and the
    charge's own event meet on one ledger row; a charge without one stands alone."""
    purchase = await _purchase(context, charge)
    details = {"charge_id": charge["id"]}
    if failure_message is not None:
        details["failure_message"] = failure_message
    payment = await _record(
        context,
        purchase,
        provider_payment_id=_id_of(charge.get("payment_intent")) or charge["id"],
        amount_minor=int(charge["amount"]),
        currency=charge["currency"],
        details=details,
        incoming=incoming,
        reason=failure_message,
    )
    return payment, purchase


async def _record(
    context: EventContext,
    purchase: Purchase,
    *,
    provider_payment_id: str,
    amount_minor: int,
    currency: str,
    details: dict[str, Any],
    incoming: PaymentFacts,
    reason: str | None = None,
) -> Payment:
    payment, _ = await billing.record_payment(
        context.session,
        provider=PaymentProvider.stripe,
        provider_payment_id=provider_payment_id,
        user_id=purchase.user.id,
        product_id=purchase.product.id,
        amount_minor=amount_minor,
        currency=currency.upper(),
        status=incoming.status,
        now=context.now,
        details={**details, FACTS_KEY: incoming.to_json()},
        failure_reason=reason,
    )
    await _update(context, payment, incoming, details=details, reason=reason)
    return payment


async def _update(
    context: EventContext,
    payment: Payment,
    incoming: PaymentFacts,
    *,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    session = context.session
    # Every change to one user's money runs under that user's lock, so two events of one
    # payment handled at once by two instances apply one after the other, each reading the
    # facts the other committed (a dispute finds its payment before it holds the lock).
    await users.lock_money(session, payment.user_id)
    await session.refresh(payment)
    facts = PaymentFacts.from_json(payment.details.get(FACTS_KEY)).merge(incoming)
    payment.details = {**payment.details, **(details or {}), FACTS_KEY: facts.to_json()}
    await session.flush()
    if facts.refunded_minor != payment.refunded_amount_minor:
        await billing.set_refunded_amount(session, payment, facts.refunded_minor)
    if facts.status != payment.status:
        await billing.set_status(session, payment, facts.status, reason)

    product = await catalog.get(session, payment.product_id) if payment.product_id else None
    if product is None:
        raise EventCannotSucceed(f"payment {payment.id} has no product to grant")
    if facts.entitled:
        grant = await entitlements.grant(session, product, payment, context.now)
        if grant.created:
            _log("entitlement granted", context, payment)
    elif await entitlements.revoke(session, payment, facts.status.value, context.now):
        _log("entitlement revoked", context, payment)
    _log("stripe payment updated", context, payment)


async def _purchase(context: EventContext, stripe_object: dict[str, Any]) -> Purchase:
    metadata = stripe_object.get("metadata") or {}
    user = await _user(context, metadata)
    code = metadata.get("product")
    if not code:
        raise EventCannotSucceed("metadata names no product")
    product = await catalog.find_by_code(context.session, str(code))
    if product is None:
        raise EventCannotSucceed(f"unknown product '{code}'")
    return Purchase(user, product)


async def _user(context: EventContext, metadata: dict[str, Any]) -> User:
    try:
        if metadata.get("user_id"):
            user = await users.find(context.session, int(metadata["user_id"]))
        elif metadata.get("telegram_id"):
            user = await users.get_by_telegram_id(context.session, int(metadata["telegram_id"]))
        else:
            raise EventCannotSucceed("metadata names no user")
    except ValueError:
        raise EventCannotSucceed("metadata has a malformed user id") from None
    if user is None:
        raise EventCannotSucceed("no such user")
    return user


async def _disputed_payment(context: EventContext, dispute: dict[str, Any]) -> Payment:
    for key in (_id_of(dispute.get("payment_intent")), _id_of(dispute.get("charge"))):
        if key:
            payment = await billing.find_payment(context.session, PaymentProvider.stripe, key)
            if payment is not None:
                return payment
    charge_id = _id_of(dispute.get("charge"))
    logger.warning(
        "stripe dispute for an unknown payment",
        extra={"event_id": context.event_id, "charge_id": charge_id},
    )
    raise PaymentNotYetKnown(f"No payment for disputed charge {charge_id}.")


def _id_of(value: object) -> str | None:
    """Stripe sends a related object as its id, or as the object itself when expanded."""
    if isinstance(value, dict):
        return str(value["id"])
    return str(value) if value else None


def _log(message: str, context: EventContext, payment: Payment) -> None:
    logger.info(
        message,
        extra={
            "event_id": context.event_id,
            "user_id": payment.user_id,
            "payment_id": payment.id,
            "status": payment.status,
        },
    )
