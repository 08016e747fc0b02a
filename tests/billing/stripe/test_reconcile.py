"""`signalhub stripe reconcile`: events Stripe has that the webhook never delivered are
processed once, through the webhook's own path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from signalhub import cli
from signalhub.billing.stripe.client import StripeApi
from signalhub.billing.stripe.service import reconcile
from signalhub.config import Settings, get_settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import Entitlement, Payment, Product, StripeEvent, User
from tests.billing.stripe.conftest import API_KEY, post_event
from tests.e2e.server import free_port
from tests.factories import create_product, create_user
from tests.fakes import stripe_events as ev
from tests.fakes.stripe_api import FakeStripe


def purchase_events(user: User, product: Product, count: int) -> list[dict[str, Any]]:
    meta = ev.metadata(user_id=user.id, product=product.code)
    created = int(utcnow().timestamp()) - 3600
    return [
        ev.event(
            "charge.succeeded",
            ev.charge(meta=meta, payment_intent=ev.unique("pi")),
            created=created + index,
        )
        for index in range(count)
    ]


async def test_missing_events_are_processed_once_and_a_second_run_changes_nothing(
    database: Database,
    settings: Settings,
    fake_stripe: FakeStripe,
    client: httpx.AsyncClient,
    buyer: User,
    product: Product,
) -> None:
    events = purchase_events(buyer, product, 4)
    unknown_user = ev.event(
        "charge.succeeded",
        ev.charge(meta=ev.metadata(user_id=999_999_999, product=product.code)),
    )
    dispute_of_nothing = ev.event(
        "charge.dispute.created",
        ev.dispute(charge_id="ch_gone", payment_intent="pi_gone", status="needs_response"),
    )
    fake_stripe.events = [*events, unknown_user, dispute_of_nothing]
    assert (await post_event(client, events[0])).status_code == 200

    api = StripeApi(settings.model_copy(update={"stripe_api_base": fake_stripe.base_url}))
    try:
        first = await reconcile(database, settings, api, utcnow() - timedelta(hours=72))
        second = await reconcile(database, settings, api, utcnow() - timedelta(hours=72))
    finally:
        await api.aclose()

    assert first.summary() == "found 6 events, 5 new: processed 3, failed 1, postponed 1"
    assert second.summary() == "found 6 events, 1 new: processed 0, failed 0, postponed 1"
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(StripeEvent)) == 5
        payments = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == buyer.id)
        )
        grants = await session.scalar(
            select(func.count()).select_from(Entitlement).where(Entitlement.user_id == buyer.id)
        )
    assert (payments, grants) == (4, 4)


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reconcile.db'}"
    monkeypatch.setenv("SIGNALHUB_DATABASE_URL", url)
    monkeypatch.setenv("SIGNALHUB_ENV", "test")
    monkeypatch.setenv("SIGNALHUB_STRIPE_API_KEY", API_KEY)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_the_cli_reports_what_it_found_and_did(
    cli_database: str,
    fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SIGNALHUB_STRIPE_API_BASE", fake_stripe.base_url)
    get_settings.cache_clear()
    assert cli.main(["migrate"]) == 0

    async def buyer_and_product() -> tuple[User, Product]:
        database = Database.from_url(cli_database)
        async with database.transaction() as session:
            found = await create_user(session), await create_product(session)
        await database.dispose()
        return found

    user, product = asyncio.run(buyer_and_product())
    fake_stripe.events = purchase_events(user, product, 3)
    capsys.readouterr()

    assert cli.main(["stripe", "reconcile", "--since", "72h"]) == 0
    assert capsys.readouterr().out.strip() == "found 3 events, 3 new: processed 3, failed 0"
    assert cli.main(["stripe", "reconcile", "--since", "2d"]) == 0
    assert capsys.readouterr().out.strip() == "found 3 events, 0 new: processed 0, failed 0"
    (request, *_) = fake_stripe.requests_to("/v1/events")
    assert abs(int(request.query["created[gte]"]) - (utcnow().timestamp() - 72 * 3600)) < 60


def test_the_cli_without_an_api_key_says_so(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SIGNALHUB_STRIPE_API_KEY")
    get_settings.cache_clear()
    assert cli.main(["stripe", "reconcile"]) == 1
    assert "SIGNALHUB_STRIPE_API_KEY" in capsys.readouterr().err


def test_the_cli_reports_an_unreachable_stripe(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNALHUB_STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    assert cli.main(["migrate"]) == 0
    assert cli.main(["stripe", "reconcile", "--since", "1h"]) == 1
    assert "Stripe is unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("7d", timedelta(days=7))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert cli.duration(text) == expected


@pytest.mark.parametrize("text", ["72", "h", "3w", "1.5h"])
def test_a_bad_duration_is_refused(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["stripe", "reconcile", "--since", text])
    assert "not a duration" in capsys.readouterr().err
