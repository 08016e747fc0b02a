"""What the bot says about a signal: the request with its buttons, and the decision."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from signalhub.models import Approval, ApprovalChannel, ApprovalStatus, Signal, SignalSide
from signalhub.signals.schemas import price_text


def describe(signal: Signal) -> str:
    arrow = "🟢" if signal.side is SignalSide.buy else "🔴"
    take_profits = ", ".join(price_text(Decimal(level)) for level in signal.take_profits)
    lines = [
        f"{arrow} {signal.symbol} {signal.side.value.upper()} {signal.order_type.value}",
        f"Entry {price_text(signal.entry_price)}",
        f"Stop loss {price_text(signal.stop_loss)}",
        f"Take profit {take_profits}",
    ]
    if signal.note:
        lines.append(signal.note)
    return "\n".join(lines)


def request_text(signal: Signal) -> str:
    return f"{describe(signal)}\n\nValid until {_clock(signal.expires_at)} UTC."


def decision_text(signal: Signal, approval: Approval) -> str:
    verdict = "✅ Approved" if approval.status is ApprovalStatus.approved else "❌ Rejected"
    where = " in the Mini App" if approval.decided_via is ApprovalChannel.miniapp else ""
    decided_at = approval.decided_at or signal.updated_at
    return f"{describe(signal)}\n\n{verdict}{where} at {_clock(decided_at)} UTC."


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"
