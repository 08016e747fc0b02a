from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from signalhub.models import PaymentProvider, PaymentStatus, Tier


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
