from __future__ import annotations

from typing import Annotated

from aiogram import Bot
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from signalhub.auth.dependencies import AdminUser, Claims, CurrentUser, user_for
from signalhub.billing import service
from signalhub.billing.idempotency import IdempotencyDep
from signalhub.billing.schemas import (
    BillingOut,
    LedgerEntryOut,
    PaymentCreate,
    PaymentRequestOut,
)
from signalhub.billing.stripe.client import StripeApi
from signalhub.dependencies import SessionDep
from signalhub.errors import error_responses
from signalhub.kit.schemas import PathId
from signalhub.kit.time import utcnow
from signalhub.models import PaymentStatus

router = APIRouter(prefix="/api/v1", tags=["billing"])


async def _bot(request: Request) -> Bot | None:
    telegram = request.app.state.telegram
    return telegram.bot if telegram is not None else None


async def _stripe(request: Request) -> StripeApi | None:
    stripe: StripeApi | None = request.app.state.stripe
    return stripe


@router.get("/billing", response_model=BillingOut)
async def billing(user: CurrentUser, session: SessionDep) -> BillingOut:
    """The caller's tier, its expiry and their last five payments, newest first."""
    return await service.overview(session, user.id, utcnow())


@router.post(
    "/payments",
    response_model=PaymentRequestOut,
    status_code=201,
    responses=error_responses(
        described={
            400: "Idempotency-Key missing or malformed; invalid_product",
            401: "Not signed in",
            409: "idempotency_request_in_progress (see Retry-After); method_unavailable",
            422: "Invalid body; idempotency_key_reused",
            502: "The payment provider refused the request",
            503: "The payment provider is unreachable",
        }
    ),
)
async def create_payment(
    order: PaymentCreate,
    claims: Claims,
    idempotency: IdempotencyDep,
    session: SessionDep,
    bot: Annotated[Bot | None, Depends(_bot)],
    stripe: Annotated[StripeApi | None, Depends(_stripe)],
) -> JSONResponse:
    """Opens a Stars invoice link or a Stripe Checkout Session for a product. Requires an
    `Idempotency-Key`: retries with the same key return the first answer and never open a
    second invoice or session. 400 `invalid_product` for an unknown or inactive product, 409
    `method_unavailable` when the method is not configured."""

    async def work() -> PaymentRequestOut:
        user = await user_for(session, claims)
        return await service.create_payment(
            session, user, order, attempt_id=idempotency.attempt_id, bot=bot, stripe=stripe
        )

    return await idempotency.run(session, work, status_code=201)


@router.get(
    "/payments/{payment_id:int}",
    response_model=PaymentRequestOut,
    responses=error_responses(
        described={
            401: "Not signed in",
            404: "No such payment of the caller's",
            422: "Invalid payment id",
        }
    ),
)
async def get_payment(
    payment_id: PathId,
    user: CurrentUser,
    session: SessionDep,
) -> PaymentRequestOut:
    """A payment attempt's status (`pending`, `paid`, `cancelled`, `failed`, `expired`) and,
    once paid, the tier and expiry it bought, as the Stripe webhook or the Stars payment
    recorded them."""
    return await service.get_payment(session, user, payment_id, utcnow())


@router.get(
    "/admin/payments",
    response_model=list[LedgerEntryOut],
    responses=error_responses(
        described={401: "Not signed in", 403: "Admins only", 422: "Invalid query"}
    ),
)
async def admin_payments(
    admin: AdminUser,
    session: SessionDep,
    status: PaymentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LedgerEntryOut]:
    """The ledger, newest first; `?status=mismatched` lists payments that did not match what
    was sold (granted nothing, waiting for an admin to refund or grant by hand)."""
    return await service.ledger(session, status, limit)
