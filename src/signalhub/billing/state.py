"""What we know about one payment, and the status and entitlement that follow from it.

Providers deliver events late, twice and out of order (Stripe above all), so a payment's state
is never "the last event wins": each event adds facts, facts only accumulate (a flag turns on,
a refunded amount only grows, a closed dispute outranks an open one), and status and entitlement
are computed from the facts. The final state therefore depends on the set of events seen, not on
their order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from signalhub.models import PaymentStatus


class Dispute(StrEnum):
    """Ranked: a closed dispute outranks an open one, and a lost one outranks a won one, so a
    late `dispute.created` never reopens it."""

    none = "none"
    open = "open"
    won = "won"
    lost = "lost"

    @property
    def rank(self) -> int:
        return list(Dispute).index(self)


@dataclass(frozen=True)
class PaymentFacts:
    succeeded: bool = False
    failed: bool = False
    refunded_minor: int = 0
    fully_refunded: bool = False
    dispute: Dispute = Dispute.none
    # Paid, but not at the price or for the product that was sold.
    mismatched: bool = False

    def merge(self, other: PaymentFacts) -> PaymentFacts:
        return PaymentFacts(
            succeeded=self.succeeded or other.succeeded,
            failed=self.failed or other.failed,
            refunded_minor=max(self.refunded_minor, other.refunded_minor),
            fully_refunded=self.fully_refunded or other.fully_refunded,
            dispute=max(self.dispute, other.dispute, key=lambda value: value.rank),
            mismatched=self.mismatched or other.mismatched,
        )

    @property
    def status(self) -> PaymentStatus:
        if self.fully_refunded:
            return PaymentStatus.refunded
        if self.mismatched:
            return PaymentStatus.mismatched
        if self.dispute in (Dispute.open, Dispute.lost):
            return PaymentStatus.disputed
        if self.succeeded:
            return PaymentStatus.succeeded
        if self.failed:
            return PaymentStatus.failed
        return PaymentStatus.pending

    @property
    def entitled(self) -> bool:
        """Paid as sold and not taken back: a full refund or a lost dispute ends it for good."""
        return (
            self.succeeded
            and not self.mismatched
            and not self.fully_refunded
            and self.dispute is not Dispute.lost
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "refunded_minor": self.refunded_minor,
            "fully_refunded": self.fully_refunded,
            "dispute": self.dispute.value,
            "mismatched": self.mismatched,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PaymentFacts:
        if not data:
            return cls()
        return cls(
            succeeded=bool(data.get("succeeded")),
            failed=bool(data.get("failed")),
            refunded_minor=int(data.get("refunded_minor", 0)),
            fully_refunded=bool(data.get("fully_refunded")),
            dispute=Dispute(data.get("dispute", Dispute.none)),
            mismatched=bool(data.get("mismatched")),
        )
