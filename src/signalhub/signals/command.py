"""The admin bot command that publishes a signal:

    /signal EURUSD buy 1.0850 sl 1.0820 tp 1.0900 [tp 1.0950] [exp 30m] [tier vip] [note text]

An order type may follow the side (`buy limit 1.0850`; market by default). The words are read
into the same `SignalCreate` the HTTP API validates, so both refuse the same signals."""

from __future__ import annotations

import re

from pydantic import ValidationError

from signalhub.signals.schemas import SignalCreate

SYNTAX = (
    "Usage: /signal SYMBOL buy|sell [market|limit|stop] ENTRY sl PRICE tp PRICE [tp PRICE ...] "
    "[exp 30m|2h] [tier premium|vip|enterprise] [note TEXT]\n"
    "Example: /signal EURUSD buy 1.0850 sl 1.0820 tp 1.0900 tp 1.0950 exp 30m tier vip"
)
ORDER_TYPES = {"market", "limit", "stop"}
DURATION = re.compile(r"^(\d{1,5})([smh])$")
SECONDS = {"s": 1, "m": 60, "h": 3600}


class CommandError(ValueError):
    """What was wrong, followed by the syntax."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}\n\n{SYNTAX}")


def parse(arguments: str) -> SignalCreate:
    words = arguments.split()
    if len(words) < 3:
        raise CommandError("Give at least the symbol, the side and the entry price.")
    fields: dict[str, object] = {"symbol": words[0], "side": words[1].lower()}
    rest = words[2:]
    if rest[0].lower() in ORDER_TYPES:
        fields["order_type"] = rest.pop(0).lower()
    if not rest:
        raise CommandError("The entry price is missing.")
    fields["entry_price"] = rest.pop(0)
    take_profits: list[str] = []
    while rest:
        keyword = rest.pop(0).lower()
        if keyword == "note":
            fields["note"] = " ".join(rest)
            break
        if not rest:
            raise CommandError(f"'{keyword}' needs a value.")
        value = rest.pop(0)
        if keyword == "sl":
            fields["stop_loss"] = value
        elif keyword == "tp":
            take_profits.append(value)
        elif keyword == "exp":
            fields["expires_in_s"] = _seconds(value)
        elif keyword == "tier":
            fields["min_tier"] = value.lower()
        else:
            raise CommandError(f"Unknown word '{keyword}'.")
    fields["take_profits"] = take_profits
    try:
        return SignalCreate.model_validate(fields)
    except ValidationError as error:
        raise CommandError(_describe(error)) from None


def _seconds(text: str) -> int:
    match = DURATION.match(text.lower())
    if match is None:
        raise CommandError(f"'{text}' is not a duration like 30m or 2h.")
    return int(match.group(1)) * SECONDS[match.group(2)]


def _describe(error: ValidationError) -> str:
    names = {"entry_price": "entry", "stop_loss": "sl", "take_profits": "tp", "min_tier": "tier"}
    names["expires_in_s"] = "exp"
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else "signal"
        problems.append(f"{names.get(field, field)}: {problem['msg']}")
    return "; ".join(problems)
