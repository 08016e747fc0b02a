"""The metrics an operator alerts on, counted where the outcome is seen, read back through
Prometheus's own registry and the /metrics text (one process; `serve --workers 2` is
tests/ops/test_metrics_multiprocess.py)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars.service import InvoicePayload
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, Priority, Tier
from signalhub.outbox import service as outbox
from tests.bot import updates
from tests.factories import create_product, create_user, signed_init_data
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import drain_outbox


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str, name: str) -> dict[str, float]:
    """One gauge family from /metrics, keyed by its priority label."""
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == name]
    return {s.labels["priority"]: s.value for s in family.samples}


async def test_metrics_show_the_outbox_backlog_by_priority(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for chat_id in (1, 2):
        await outbox.enqueue(session, chat_id, "promo", priority=Priority.marketing, kind="test")
    signal = await outbox.enqueue(session, 3, "EURUSD", priority=Priority.signal, kind="test")
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == signal.id)
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    await session.flush()

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert scraped(response.text, "signalhub_outbox_depth") == {
        "signal": 1,
        "transactional": 0,
        "marketing": 2,
    }
    ages = scraped(response.text, "signalhub_outbox_oldest_age_seconds")
    assert 600 <= ages["signal"] < 700
    assert ages["transactional"] == 0
    assert 0 <= ages["marketing"] < 60


async def test_sign_ins_are_counted_by_method_and_outcome(client: httpx.AsyncClient) -> None:
    success = sample("signalhub_signins_total", method="init_data", outcome="success")
    refused = sample(
        "signalhub_signins_total", method="init_data", outcome="init_data_bad_signature"
    )
    good = await client.post("/api/v1/auth/telegram", json={"init_data": signed_init_data(31337)})
    assert good.status_code == 200
    bad = await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(31337, bot_token="1:other")}
    )
    assert bad.json()["error"]["code"] == "init_data_bad_signature"
    assert sample("signalhub_signins_total", method="init_data", outcome="success") == success + 1
    assert (
        sample("signalhub_signins_total", method="init_data", outcome="init_data_bad_signature")
        == refused + 1
    )


async def test_request_latency_is_labelled_by_route_template(client: httpx.AsyncClient) -> None:
    route = "/miniapp/{path:path}"
    before = sample("signalhub_http_request_duration_seconds_count", method="GET", route=route)
    for path in ("/miniapp/a", "/miniapp/b/c"):
        await client.get(path)
    after = sample("signalhub_http_request_duration_seconds_count", method="GET", route=route)
    assert after == before + 2


async def test_an_unknown_method_is_counted_as_other_not_as_a_new_label(
    client: httpx.AsyncClient,
) -> None:
    def other() -> float:
        return sample(
            "signalhub_http_requests_total", method="OTHER", route="unmatched", status="404"
        )

    before = other()
    for method in ("FROB", "X-ANYTHING-1", "X-ANYTHING-2"):
        await client.request(method, "/nowhere")
    assert other() == before + 3
    assert (
        sample("signalhub_http_requests_total", method="FROB", route="unmatched", status="404") == 0
    )


async def test_a_stars_payment_counts_once_with_its_grant_and_receipt(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    database: Database,
    telegram_api: FakeTelegramAPI,
) -> None:
    buyer = await create_user(session, telegram_id=555_321)
    product = await create_product(session, tier=Tier.vip, price_stars=2500)
    await session.commit()
    counters = {
        "paid": ("signalhub_stars_payments_total", {"outcome": "paid"}),
        "duplicate": ("signalhub_stars_payments_total", {"outcome": "duplicate"}),
        "granted": ("signalhub_entitlements_total", {"action": "granted", "tier": "vip"}),
        "sent": ("signalhub_outbox_sent_total", {"priority": "transactional"}),
    }
    before = {key: sample(name, **labels) for key, (name, labels) in counters.items()}

    payload = InvoicePayload(product.code, buyer.id).encode()
    paid = updates.successful_payment(buyer.telegram_id, payload, 2500, "stxMetrics1")
    for _ in range(2):
        assert (await updates.post(client, paid)).status_code == 200
    await drain_outbox(settings, database)

    after = {key: sample(name, **labels) for key, (name, labels) in counters.items()}
    assert {key: after[key] - before[key] for key in counters} == {
        "paid": 1,
        "duplicate": 1,
        "granted": 1,
        "sent": 1,
    }


async def test_a_blocked_chat_counts_a_403(
    session: AsyncSession, settings: Settings, database: Database, telegram_api: FakeTelegramAPI
) -> None:
    before = sample("signalhub_telegram_send_errors_total", reason="blocked_403")
    telegram_api.block(4040)
    await outbox.enqueue(session, 4040, "hello", kind="test")
    await session.commit()
    await drain_outbox(settings, database)
    assert sample("signalhub_telegram_send_errors_total", reason="blocked_403") == before + 1
