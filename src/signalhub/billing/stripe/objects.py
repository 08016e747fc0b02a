"""The Stripe objects we read, as typed models: the fields we use must be present and of the
right type, so a signed event we cannot use is refused here, by name, instead of failing deep in
a handler (and being retried by Stripe for three days)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from signalhub.kit.schemas import MAX_INTEGER, Text

StripeText = Annotated[Text, Field(min_length=1, max_length=255)]
# Amounts land in INTEGER columns. Zero and negative values are kept: they are mismatches to
# record, not malformed events.
Amount = Annotated[int, Field(strict=True, ge=-MAX_INTEGER - 1, le=MAX_INTEGER)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]
Message = Annotated[Text, Field(max_length=1000)]


def _id_of(value: Any) -> Any:
    """Stripe sends a related object as its id, or as the object itself when expanded (which
    must then carry its id: left as the dict, it fails validation)."""
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value or None


RelatedId = Annotated[StripeText | None, BeforeValidator(_id_of)]


class StripeObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StripeText
    metadata: dict[StripeText, Message] = Field(default_factory=dict)


class Charge(StripeObject):
    amount: Amount
    currency: Currency
    payment_intent: RelatedId = None
    amount_refunded: Amount = 0
    failure_message: Message | None = None


class CheckoutSession(StripeObject):
    payment_status: StripeText
    amount_total: Amount | None = None
    currency: Currency | None = None
    payment_intent: RelatedId = None


class Dispute(StripeObject):
    amount: Amount
    charge: RelatedId = None
    payment_intent: RelatedId = None
    reason: Message | None = None
    status: StripeText
