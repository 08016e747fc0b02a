"""The one way money changes state, for Stripe and Telegram Stars alike.

`billing.stripe` and `billing.stars` translate their provider's events into a `PaymentReport`
(or new facts about a payment already in the ledger) and call `settle`; everything after that is
decided here, once: lock the payer, record or update the ledger row, merge the provider's facts
(`billing.state`), check what was paid against what was sold, grant or revoke, audit, and queue
the receipt, the refund or failure notice, or the admins' alert."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.billing.repository import PaymentRepository
from signalhub.billing.state import PaymentFacts
from signalhub.catalog import service as catalog
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.errors import AppError, NotFound
from signalhub.kit.money import STARS, format_amount
from signalhub.models import (
    Entitlement,
    Payment,
    PaymentProvider,
    PaymentRequest,
    PaymentRequestStatus,
    PaymentStatus,
    Priority,
    Product,
    User,
)
from signalhub.outbox import service as outbox

FACTS_KEY = "facts"
_MONEY_LOCKS = "signalhub.money_locks"


class CannotSettle(Exception):
    """A report no retry will ever make usable (no product to grant): the translator records
    the failure its provider's way and the admins are told."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentRefused(AppError):
    """A payment we will not attribute (another user's invoice, an unreadable payload). The
    refusal is audited and the admins are alerted in the same transaction, which commits."""

    status_code = 403
    code = "payment_refused"
    commit_transaction = True


@dataclass(frozen=True)
class PaymentReport:
    """What a provider tells us about one payment, in our terms."""

    provider: PaymentProvider
    provider_payment_id: str
    user_id: int
    product: Product
    amount_minor: int
    currency: str
    facts: PaymentFacts
    # The payment request the provider's payment names (a Stars payload, Stripe metadata).
    payment_request: PaymentRequest | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    is_recurring: bool = False
    failure_reason: str | None = None


@dataclass(frozen=True)
class Changes:
    """The context one application of facts needs: who pays, what for, and the starting point."""

    payer: User
    product: Product
    before: PaymentStatus | None
    reason: str | None
    request: PaymentRequest | None


@dataclass(frozen=True)
class Settlement:
    payment: Payment
    created: bool
    entitlement: Entitlement | None


async def lock_money(session: AsyncSession, user_id: int) -> User:
    """Every change to one user's money (ledger, entitlements) runs under this lock, taken once,
    before the first write: a payment insert share-locks the user row through its foreign key,
    and two transactions each holding that while asking for this lock would deadlock."""
    user = await lock_payer(session, user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


async def lock_payer(session: AsyncSession, user_id: int) -> User | None:
    """`lock_money` for a translator that must tell a missing user apart; None when there is no
    such user. Within one transaction the lock is taken once: a second call answers the user
    it locked, without asking the database again."""
    transaction = session.get_transaction()
    held = session.info.get(_MONEY_LOCKS)
    # The transaction is kept alongside the users, so a later transaction is never mistaken
    # for this one.
    if held is None or held[0] is not transaction:
        held = session.info[_MONEY_LOCKS] = (transaction, {})
    locked: dict[int, User] = held[1]
    if user_id not in locked:
        user = await PaymentRepository(session).lock_user(user_id)
        if user is None:
            return None
        locked[user_id] = user
    return locked[user_id]


async def settle(
    session: AsyncSession,
    settings: Settings,
    report: PaymentReport,
    now: datetime,
    *,
    actor_user_id: int | None = None,
) -> Settlement:
    """Puts the provider's payment in the ledger once and brings its status, entitlement and
    messages in line with everything known about it. Idempotent: a report already applied
    changes nothing."""
    payer = await lock_money(session, report.user_id)
    repository = PaymentRepository(session)
    request = report.payment_request
    mismatch = _mismatch(report, request) if report.facts.succeeded else None
    incoming = replace(report.facts, mismatched=True) if mismatch else report.facts
    reason = mismatch or report.failure_reason
    payment = await repository.add_if_new(
        Payment(
            provider=report.provider,
            provider_payment_id=report.provider_payment_id,
            user_id=report.user_id,
            product_id=report.product.id,
            payment_request_id=request.id if request else None,
            amount_minor=report.amount_minor,
            currency=report.currency,
            status=incoming.status,
            refunded_amount_minor=0,
            is_recurring=report.is_recurring,
            failure_reason=reason,
            details={**report.details, FACTS_KEY: incoming.to_json()},
            created_at=now,
            updated_at=now,
        )
    )
    if payment is not None:
        await audit.record(
            session,
            "payment.recorded",
            subject_type="payment",
            subject_id=payment.id,
            user_id=payment.user_id,
            actor_user_id=actor_user_id,
            data={
                "provider": payment.provider,
                "provider_payment_id": payment.provider_payment_id,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "status": payment.status,
            },
        )
        changes = Changes(payer, report.product, before=None, reason=reason, request=request)
        return await _apply(session, settings, payment, incoming, changes, now, actor_user_id)
    existing = await repository.get_by_provider_id(report.provider, report.provider_payment_id)
    assert existing is not None
    if existing.product_id != report.product.id:
        raise CannotSettle(f"payment {existing.id} was recorded for another product")
    if any(existing.details.get(key) != value for key, value in report.details.items()):
        existing.details = {**existing.details, **report.details}
    changes = Changes(payer, report.product, before=existing.status, reason=reason, request=request)
    return await _apply(session, settings, existing, incoming, changes, now, actor_user_id)


async def settle_known(
    session: AsyncSession,
    settings: Settings,
    provider: PaymentProvider,
    provider_payment_id: str,
    incoming: PaymentFacts,
    now: datetime,
    *,
    actor_user_id: int | None = None,
) -> Settlement | None:
    """New facts about a payment already in the ledger (a dispute, a refund we initiated); None
    when the ledger has no such payment."""
    repository = PaymentRepository(session)
    found = await repository.get_by_provider_id(provider, provider_payment_id)
    if found is None:
        return None
    # Found before the lock: read again under it, to merge with facts committed meanwhile.
    payer = await lock_money(session, found.user_id)
    payment = await repository.get_by_provider_id(provider, provider_payment_id)
    assert payment is not None
    product = await catalog.get(session, payment.product_id) if payment.product_id else None
    if product is None:
        raise CannotSettle(f"payment {payment.id} has no product")
    changes = Changes(payer, product, before=payment.status, reason=None, request=None)
    return await _apply(session, settings, payment, incoming, changes, now, actor_user_id)


async def find_payment(
    session: AsyncSession, provider: PaymentProvider, provider_payment_id: str
) -> Payment | None:
    return await PaymentRepository(session).get_by_provider_id(provider, provider_payment_id)


async def refuse(
    session: AsyncSession,
    settings: Settings,
    *,
    provider: PaymentProvider,
    provider_payment_id: str,
    user_id: int | None,
    reason: str,
) -> PaymentRefused:
    """Audits the refusal and alerts the admins (the money may have moved: they decide on a
    refund); returns the error for the translator to raise."""
    await audit.record(
        session,
        "payment.refused",
        subject_type="provider_payment",
        subject_id=f"{provider}:{provider_payment_id}",
        user_id=user_id,
        data={"provider": provider, "reason": reason},
    )
    await outbox.alert_admins(
        session,
        settings.admin_telegram_ids,
        f"{provider} payment {provider_payment_id} (user {user_id}) was refused: {reason}.",
        kind="admin_alert",
    )
    return PaymentRefused(f"Payment refused: {reason}.")


def _mismatch(report: PaymentReport, request: PaymentRequest | None) -> str | None:
    """None when the payment is what was sold: the product's current price in the provider's
    currency, or the price the payment request recorded when the invoice or checkout was made
    (a Stars invoice is only ever paid at its own price)."""
    paid = format_amount(report.amount_minor, report.currency)
    if request is not None:
        if request.user_id != report.user_id or request.product_id != report.product.id:
            return f"paid for {report.product.code}, but payment request {request.id} is not"
        if (report.amount_minor, report.currency) == (request.amount_minor, request.currency):
            return None
        if report.provider is PaymentProvider.telegram_stars:
            return f"paid {paid}, the invoice asked {_price(request)}"
    listed = listed_price(report.product, report.provider)
    if (report.amount_minor, report.currency) == listed:
        return None
    return f"paid {paid}, {report.product.code} costs {format_amount(*listed)}"


def listed_price(product: Product, provider: PaymentProvider) -> tuple[int, str]:
    """The product's price as each provider charges it: Stars in XTR, cards in its currency."""
    if provider is PaymentProvider.telegram_stars:
        return product.price_stars, STARS
    return product.price_amount_minor, product.price_currency


def _price(request: PaymentRequest) -> str:
    return format_amount(request.amount_minor, request.currency)


async def _apply(
    session: AsyncSession,
    settings: Settings,
    payment: Payment,
    incoming: PaymentFacts,
    changes: Changes,
    now: datetime,
    actor_user_id: int | None,
) -> Settlement:
    created = changes.before is None
    product = changes.product
    facts = PaymentFacts.from_json(payment.details.get(FACTS_KEY)).merge(incoming)
    if payment.details.get(FACTS_KEY) != facts.to_json():
        payment.details = {**payment.details, FACTS_KEY: facts.to_json()}
    if facts.refunded_minor != payment.refunded_amount_minor:
        await _audit_change(
            session,
            payment,
            "payment.refunded_amount_changed",
            {
                "from": payment.refunded_amount_minor,
                "to": facts.refunded_minor,
                "currency": payment.currency,
            },
        )
        payment.refunded_amount_minor = facts.refunded_minor
    if facts.status != payment.status:
        await _audit_change(
            session,
            payment,
            "payment.status_changed",
            {"from": payment.status, "to": facts.status, "reason": changes.reason},
        )
        payment.status = facts.status
        if changes.reason is not None:
            payment.failure_reason = changes.reason

    entitlement: Entitlement | None = None
    if facts.entitled:
        # The grant reads and writes only entitlements; what is queued so far (the payment's
        # changes, its audit entries) waits, to be written with the grant's own audit entry in
        # one flush.
        with session.no_autoflush:
            granted = await entitlements.grant(
                session, product, payment, now, payment_is_new=created
            )
        entitlement = granted.entitlement
        if granted.created:
            await _notify(
                session, changes.payer, "receipt", _receipt_text(payment, product, entitlement)
            )
    else:
        revoked = await entitlements.revoke(session, payment, facts.status.value, now)
        if revoked is not None and facts.status is PaymentStatus.refunded:
            await _notify(
                session,
                changes.payer,
                "refund",
                f"Your payment for {product.name} was refunded; "
                f"your {product.tier} access from it has ended.",
            )
    if payment.status != changes.before:
        await _announce(session, settings, payment, changes, actor_user_id)
    if changes.request is not None:
        _follow(changes.request, payment.status)
    return Settlement(payment, created, entitlement)


async def _announce(
    session: AsyncSession,
    settings: Settings,
    payment: Payment,
    changes: Changes,
    actor_user_id: int | None,
) -> None:
    """What a payment's new status tells people, said once: when it is reached."""
    if payment.status is PaymentStatus.failed:
        await _notify(
            session,
            changes.payer,
            "payment_failed",
            f"Your payment for {changes.product.name} did not go through: "
            f"{payment.failure_reason or 'the payment was declined.'}",
        )
    elif payment.status is PaymentStatus.refunded:
        await audit.record(
            session,
            "payment.refunded",
            subject_type="payment",
            subject_id=payment.id,
            user_id=payment.user_id,
            actor_user_id=actor_user_id,
            data={
                "provider": payment.provider,
                "provider_payment_id": payment.provider_payment_id,
                "amount_minor": payment.refunded_amount_minor,
            },
        )
    elif payment.status is PaymentStatus.mismatched:
        await outbox.alert_admins(
            session,
            settings.admin_telegram_ids,
            f"Payment {payment.id} ({payment.provider} {payment.provider_payment_id}, "
            f"user {payment.user_id}) does not match what was sold: {payment.failure_reason}. "
            "Nothing was granted; refund it or grant by hand.",
            kind="admin_alert",
        )


def _follow(request: PaymentRequest, status: PaymentStatus) -> None:
    """A payment request shows how its payment went (a renewal may only confirm it)."""
    if status in (PaymentStatus.succeeded, PaymentStatus.disputed):
        request.status = PaymentRequestStatus.paid
    elif (
        status in (PaymentStatus.failed, PaymentStatus.mismatched)
        and request.status is not PaymentRequestStatus.paid
    ):
        request.status = PaymentRequestStatus.failed


async def _audit_change(
    session: AsyncSession, payment: Payment, action: str, data: dict[str, Any]
) -> None:
    await audit.record(
        session,
        action,
        subject_type="payment",
        subject_id=payment.id,
        user_id=payment.user_id,
        data=data,
    )


async def _notify(session: AsyncSession, payer: User, kind: str, text: str) -> None:
    await outbox.enqueue(
        session,
        payer.telegram_id,
        text,
        priority=Priority.transactional,
        kind=kind,
        user_id=payer.id,
    )


def _receipt_text(payment: Payment, product: Product, entitlement: Entitlement) -> str:
    what = "Subscription renewed" if payment.is_recurring else "Payment received"
    return (
        f"{what}: {product.name}, {format_amount(payment.amount_minor, payment.currency)}.\n"
        f"Your {product.tier} access runs until {entitlement.expires_at:%Y-%m-%d %H:%M} UTC."
    )
