"""Publishing validates every field and names the one that is wrong."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from signalhub.signals.schemas import SignalCreate
from tests.helpers import bearer_for
from tests.signals.conftest import signal_body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stop_loss": "1.0860"}, "stop_loss"),  # buy: SL above entry
        ({"stop_loss": "1.0850"}, "stop_loss"),  # buy: SL at entry
        ({"take_profits": ["1.0900", "1.0840"]}, "take_profits"),  # buy: a TP below entry
        ({"side": "sell"}, "stop_loss"),  # sell with a buy's levels: SL below entry
        (
            {"side": "sell", "stop_loss": "1.0880", "take_profits": ["1.0900"]},
            "take_profits",
        ),
        ({"entry_price": "-1"}, "entry_price"),
        ({"entry_price": "0"}, "entry_price"),
        ({"stop_loss": "0"}, "stop_loss"),
        ({"entry_price": "abc"}, "entry_price"),
        ({"entry_price": "1.123456789"}, "entry_price"),  # finer than the column keeps
        ({"entry_price": "1e30"}, "entry_price"),
        ({"take_profits": []}, "take_profits"),
        ({"take_profits": ["1.09"] * 6}, "take_profits"),
        ({"side": "long"}, "side"),
        ({"order_type": "fok"}, "order_type"),
        ({"symbol": "EUR/USD"}, "symbol"),
        ({"symbol": "EURUSD\x00"}, "symbol"),
        ({"symbol": "X" * 33}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"note": "a\x00b"}, "note"),
        ({"note": "n" * 501}, "note"),
        ({"min_tier": "platinum"}, "min_tier"),
        ({"expires_in_s": 86401}, "expires_in_s"),
        ({"expires_in_s": 59}, "expires_in_s"),
        ({"expires_in_s": 2**63}, "expires_in_s"),
        ({"symbol": 12}, "symbol"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_a_bad_field_is_a_422_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/admin/signals", json=signal_body(**overrides), headers=admin_headers
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]


@pytest.mark.parametrize("missing", ["symbol", "side", "entry_price", "stop_loss", "take_profits"])
async def test_a_missing_field_is_a_422_naming_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], missing: str
) -> None:
    body = signal_body()
    del body[missing]
    response = await client.post("/api/v1/admin/signals", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert missing in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "symbol": "US30.cash",
            "entry_price": "39000",
            "stop_loss": "38900",
            "take_profits": ["39100"],
        },
        {"symbol": "XAU_USD-m", "order_type": "limit"},
        {"side": "sell", "order_type": "stop", "stop_loss": "1.0900", "take_profits": ["1.08"]},
        {"entry_price": 1.085, "stop_loss": 1.082, "take_profits": [1.09]},
        {"expires_in_s": 86400, "min_tier": "free", "note": "Breakout above the range."},
    ],
)
async def test_valid_signals_are_published(
    client: httpx.AsyncClient, admin_headers: dict[str, str], overrides: dict[str, Any]
) -> None:
    response = await client.post(
        "/api/v1/admin/signals", json=signal_body(**overrides), headers=admin_headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"


async def test_publishing_is_for_admins(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/admin/signals", json=signal_body())).status_code == 401
    trader = await bearer_for(client, 4242)
    response = await client.post("/api/v1/admin/signals", json=signal_body(), headers=trader)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_only"


prices = st.decimals(min_value="0.00000001", max_value="9999999", places=5)


@given(
    side=st.sampled_from(["buy", "sell"]),
    entry=prices,
    stop=prices,
    targets=st.lists(prices, min_size=1, max_size=5),
)
def test_a_signal_is_accepted_exactly_when_its_levels_are_on_the_right_sides(
    side: str, entry: Decimal, stop: Decimal, targets: list[Decimal]
) -> None:
    body = signal_body(side=side, entry_price=entry, stop_loss=stop, take_profits=targets)
    if side == "buy":
        valid = stop < entry and all(target > entry for target in targets)
    else:
        valid = stop > entry and all(target < entry for target in targets)
    try:
        SignalCreate.model_validate(body)
    except ValidationError:
        assert not valid
    else:
        assert valid
