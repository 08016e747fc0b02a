"""Every metric an operator alerts on, defined once; the thin edges that see an outcome (HTTP
middleware, webhook and sign-in routes, the Stars handlers, the sender, the entitlements service)
count it. Several processes (`serve --workers N`, `signalhub worker`) write to one multiprocess
directory (see `ops.multiprocess`) and `/metrics` sums them. The outbox backlog is a fact of the
database, so it is read at scrape time instead of kept in any process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from signalhub.errors import AppError
from signalhub.ops.multiprocess import MULTIPROC_DIR_ENV

http_requests = Counter(
    "signalhub_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
http_latency = Histogram(
    "signalhub_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
stripe_events = Counter(
    "signalhub_stripe_events_total",
    "Verified Stripe events by type and outcome (processed, failed, duplicate)",
    ["type", "outcome"],
)
stars_payments = Counter(
    "signalhub_stars_payments_total",
    "Telegram Stars payment updates by outcome (paid, duplicate, refunded)",
    ["outcome"],
)
entitlements = Counter(
    "signalhub_entitlements_total", "Entitlements granted and revoked", ["action", "tier"]
)
messages_sent = Counter(
    "signalhub_outbox_sent_total", "Messages the Bot API accepted, by priority", ["priority"]
)
telegram_send_errors = Counter(
    "signalhub_telegram_send_errors_total",
    "Bot API refusals while sending: 429 flood control, 403 blocked, rejected, network, other",
    ["reason"],
)
signins = Counter(
    "signalhub_signins_total",
    "Sign-in attempts by method and outcome (success or the error code)",
    ["method", "outcome"],
)


@contextmanager
def counting_signin(method: str) -> Iterator[None]:
    try:
        yield
    except AppError as error:
        signins.labels(method, error.code).inc()
        raise
    signins.labels(method, "success").inc()


@dataclass(frozen=True)
class PriorityBacklog:
    priority: str
    pending: int
    oldest_age_s: float


class OutboxBacklogCollector:
    """The backlog as read for this scrape, as gauges."""

    def __init__(self, backlog: Iterable[PriorityBacklog]) -> None:
        self.backlog = list(backlog)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "signalhub_outbox_depth", "Messages waiting to be sent", labels=["priority"]
        )
        age = GaugeMetricFamily(
            "signalhub_outbox_oldest_age_seconds",
            "Age of the oldest message waiting to be sent",
            labels=["priority"],
        )
        for row in self.backlog:
            depth.add_metric([row.priority], row.pending)
            age.add_metric([row.priority], row.oldest_age_s)
        yield depth
        yield age


def exposition(backlog: Iterable[PriorityBacklog]) -> bytes:
    """Prometheus text: every process's counters (summed in multiprocess mode) and the backlog."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
    else:
        processes = REGISTRY
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(OutboxBacklogCollector(backlog))
    return generate_latest(processes) + generate_latest(scrape)
