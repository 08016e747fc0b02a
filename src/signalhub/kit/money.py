"""Money is an integer of minor units and an ISO 4217 code; Telegram Stars (XTR) have no minor
unit."""

from __future__ import annotations

STARS = "XTR"


def format_amount(amount_minor: int, currency: str) -> str:
    """`19.00 USD`, `2500 Stars`: for messages to people, never for arithmetic."""
    if currency == STARS:
        return f"{amount_minor} Stars"
    return f"{amount_minor / 100:.2f} {currency}"


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_price(amount_minor: int, currency: str) -> str:
    """`$19.00` where the currency has a familiar symbol: for price lists."""
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return format_amount(amount_minor, currency)
    return f"{symbol}{amount_minor / 100:.2f}"
