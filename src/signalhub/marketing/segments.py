"""Who a broadcast goes to, written `all`, `free`, `premium`, `vip`, `enterprise` (current
tier), `paid` (any paid tier), `expiring:<days>` or `lapsed:<days>`. Resolved into recipients
when sending starts (see MarketingRepository.resolve_segment)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from signalhub.errors import Unprocessable

MAX_DAYS = 3650
_WITH_DAYS = re.compile(r"^(expiring|lapsed):(\d{1,4})$")


class SegmentKind(StrEnum):
    all = "all"
    free = "free"
    premium = "premium"
    vip = "vip"
    enterprise = "enterprise"
    paid = "paid"
    expiring = "expiring"
    lapsed = "lapsed"


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    days: int | None = None

    def __str__(self) -> str:
        return self.kind.value if self.days is None else f"{self.kind.value}:{self.days}"


def parse(text: str) -> Segment:
    match = _WITH_DAYS.match(text)
    if match is not None:
        days = int(match.group(2))
        if not 1 <= days <= MAX_DAYS:
            raise Unprocessable(
                f"Segment '{text}': days must be between 1 and {MAX_DAYS}.",
                code="unknown_segment",
            )
        return Segment(SegmentKind(match.group(1)), days)
    if text in (SegmentKind.expiring, SegmentKind.lapsed) or text not in set(SegmentKind):
        known = "all, free, premium, vip, enterprise, paid, expiring:<days>, lapsed:<days>"
        raise Unprocessable(f"Unknown segment '{text}'; known: {known}.", code="unknown_segment")
    return Segment(SegmentKind(text))
