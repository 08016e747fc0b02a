from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalhub.models import (
    PaymentMethod,
    PaymentProvider,
    PaymentRequestStatus,
    PaymentStatus,
    Tier,
)


class PaymentOut(BaseModel):
    id: int
    provider: PaymentProvider
    product_code: str | None
    product_name: str | None
    amount_minor: int
    currency: str
    status: PaymentStatus
    created_at: datetime


class BillingOut(BaseModel):
    tier: Tier
    expires_at: datetime | None
    payments: list[PaymentOut]


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str = Field(pattern=r"^[a-z0-9_]{2,64}$", max_length=64, description="A product code.")
    method: PaymentMethod


class PaymentRequestOut(BaseModel):
    """A payment attempt and how it went. Stars attempts carry an `invoice_link` (open it with
    `openInvoice`), Stripe ones a `checkout_url` valid until `expires_at`. Once paid, `tier`
    and `tier_expires_at` show what the payment bought."""

    id: int
    method: PaymentMethod
    status: PaymentRequestStatus
    product: str
    amount_minor: int
    currency: str
    invoice_link: str | None = None
    checkout_url: str | None = None
    expires_at: datetime | None = None
    tier: Tier | None = None
    tier_expires_at: datetime | None = None


class LedgerEntryOut(BaseModel):
    """A ledger row as admins review it (`mismatched` ones above all)."""

    id: int
    user_id: int
    provider: PaymentProvider
    provider_payment_id: str
    product_code: str | None
    amount_minor: int
    currency: str
    status: PaymentStatus
    refunded_amount_minor: int
    failure_reason: str | None
    created_at: datetime
