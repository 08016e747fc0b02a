"""The standing hostile-input table: every operation of the OpenAPI document that takes a body,
a path or a query gets the inputs of tests/attack/hostile.py, sent with credentials that get
them past authentication (an admin's token, a device's signature, Stripe's and Telegram's
secrets), so that they reach validation and the database. Each answer must be a 4xx with the
error body, or a success; never a 5xx. CI runs it on PostgreSQL, which refuses what SQLite
keeps (NUL in text, integers beyond BIGINT), and again on SQLite."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.bot.routes import SECRET_HEADER
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices.signing import signed_headers
from signalhub.models import Role, Tier
from tests.attack.hostile import (
    FIELD_VALUES,
    PATH_VALUES,
    RAW_BODIES,
    body_variants,
    example,
)
from tests.conftest import TEST_WEBHOOK_SECRET, make_settings
from tests.factories import (
    create_article,
    create_device,
    create_product,
    create_user,
    grant_tier,
)
from tests.fakes import stripe_events
from tests.helpers import bearer_for

ADMIN_TELEGRAM_ID = 900  # listed in the test settings' ADMIN_TELEGRAM_IDS
STRIPE_SECRET = "whsec_attack_0123456789abcdef"
STRIPE_PATH = "/api/v1/stripe/webhook"
TELEGRAM_PATH = "/telegram/webhook"
# Operations that are not JSON APIs of ours: the static Mini App and the long-lived stream.
MAX_QUERY_VALUE = 4096
SKIPPED_PATHS = {"/api/v1/approvals/stream", "/miniapp/{path}", "/miniapp/"}


@dataclass
class Caller:
    client: httpx.AsyncClient
    admin_headers: dict[str, str]
    device_id: int
    device_secret: str
    stripe_metadata: dict[str, str]
    # Path parameters that name a row the fixture made, so a body reaches its handler.
    path_values: dict[str, str]

    async def send(
        self, method: str, path: str, content: bytes = b"", content_type: str | None = None
    ) -> httpx.Response:
        headers = {**self.admin_headers, "Idempotency-Key": uuid.uuid4().hex}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if path.startswith("/api/v1/ea/"):
            headers.update(
                signed_headers(self.device_id, self.device_secret, method, path, content)
            )
        elif path == STRIPE_PATH:
            headers["Stripe-Signature"] = stripe_events.sign(
                content.decode("utf-8", "replace"), STRIPE_SECRET
            )
        elif path == TELEGRAM_PATH:
            headers[SECRET_HEADER] = TEST_WEBHOOK_SECRET
        return await self.client.request(method, path, content=content, headers=headers)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"stripe_webhook_secret": [SecretStr(STRIPE_SECRET)]})


@pytest.fixture
async def caller(
    settings: Settings, database: Database, session: AsyncSession
) -> AsyncIterator[Caller]:
    admin = await create_user(session, telegram_id=ADMIN_TELEGRAM_ID, role=Role.admin)
    await grant_tier(session, admin, Tier.enterprise)
    device = await create_device(session, settings, admin)
    product = await create_product(session, tier=Tier.vip)
    article = await create_article(session, title="Attack surface")
    await session.commit()
    application = create_app(settings, database)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
            template = await client.post(
                "/api/v1/admin/broadcast-templates",
                json={"title": "Offer", "text": "Hi {first_name}"},
                headers=headers,
            )
            metadata = stripe_events.metadata(user_id=admin.id, product=product.code)
            path_values = {
                "code": product.code,
                "article_id": str(article.id),
                "template_id": str(template.json()["id"]),
                "device_id": str(device.device.id),
            }
            yield Caller(client, headers, device.device.id, device.secret, metadata, path_values)


def _openapi() -> dict[str, Any]:
    application: FastAPI = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    return application.openapi()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    body_schema: dict[str, Any] | None
    path_parameters: tuple[str, ...]
    query_parameters: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, path_values: dict[str, str], query: str = "") -> str:
        url = self.path
        for name in self.path_parameters:
            url = url.replace("{" + name + "}", path_values.get(name, "1"))
        return f"{url}?{query}" if query else url


def _operations() -> Iterator[Operation]:
    document = _openapi()
    for path, methods in document["paths"].items():
        if path in SKIPPED_PATHS:
            continue
        for method, operation in methods.items():
            parameters = operation.get("parameters", [])
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            # The webhooks read their raw body themselves.
            if path in (STRIPE_PATH, TELEGRAM_PATH):
                schema = {"type": "object"}
            yield Operation(
                method.upper(),
                path,
                schema,
                tuple(p["name"] for p in parameters if p["in"] == "path"),
                tuple(p["name"] for p in parameters if p["in"] == "query"),
            )


OPERATIONS = list(_operations())
COMPONENTS = _openapi().get("components", {}).get("schemas", {})


def _valid_body(caller: Caller, operation: Operation) -> Any:
    """A body the operation accepts where the generic guess of `example` is not one."""
    oauth_attempt = {"auth_code": "a" * 32, "signature": "ab" * 32}
    bases: dict[str, Any] = {
        STRIPE_PATH: stripe_events.event(
            "charge.succeeded", stripe_events.charge(meta=caller.stripe_metadata)
        ),
        TELEGRAM_PATH: {"update_id": 1, "message": _telegram_message()},
        "/oauth/mini_app/callback": oauth_attempt,
        "/oauth/mini_app/accept": oauth_attempt,
        "/oauth/mini_app/refuse": oauth_attempt,
        "/api/v1/admin/products": {
            "code": "attack_vip",
            "name": "VIP",
            "tier": "vip",
            "duration_days": 30,
            "price_amount_minor": 1900,
            "price_stars": 100,
        },
        "/api/v1/admin/knowledge": {
            "slug": "attack-article",
            "language": "en",
            "title": "Title",
            "category": "trading",
            "body": "Body",
        },
        "/api/v1/payments": {"product": caller.path_values["code"], "method": "stars"},
        "/api/v1/admin/segments/preview": {"segment": "all"},
        "/api/v1/admin/broadcasts": {
            "segment": "all",
            "template_id": int(caller.path_values["template_id"]),
        },
        "/api/v1/ea/ack": {"approval_id": 1, "status": "skipped"},
        "/api/v1/admin/signals": {
            "symbol": "EURUSD",
            "side": "buy",
            "entry_price": 1.1,
            "stop_loss": 1.0,
            "take_profits": [1.2],
        },
    }
    if operation.path in bases and operation.method == "POST":
        return bases[operation.path]
    assert operation.body_schema is not None
    return example(operation.body_schema, COMPONENTS)


def _telegram_message() -> dict[str, Any]:
    user = {"id": ADMIN_TELEGRAM_ID, "is_bot": False, "first_name": "Ada"}
    return {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": ADMIN_TELEGRAM_ID, "type": "private"},
        "from": user,
        "text": "/help",
    }


def _nested_variants(caller: Caller, operation: Operation) -> Iterator[tuple[str, bytes]]:
    """For the webhooks, the hostile values go inside the signed object that we read."""
    base = _valid_body(caller, operation)
    if operation.path == STRIPE_PATH:
        charge = base["data"]["object"]
        for name in [*charge, "metadata.user_id", "metadata.product"]:
            for label, value in FIELD_VALUES:
                event = json.loads(json.dumps(base))
                target = event["data"]["object"]
                if name.startswith("metadata."):
                    target["metadata"][name.split(".", 1)[1]] = value
                else:
                    target[name] = value
                event["id"] = stripe_events.unique("evt")
                yield f"data.object.{name}={label}", json.dumps(event).encode()
    elif operation.path == TELEGRAM_PATH:
        for name in [*base["message"], "from.first_name", "from.id", "chat.id"]:
            for label, value in FIELD_VALUES:
                update = json.loads(json.dumps(base))
                target = update["message"]
                if "." in name:
                    parent, child = name.split(".", 1)
                    target[parent][child] = value
                else:
                    target[name] = value
                yield f"message.{name}={label}", json.dumps(update).encode()


def _failure(label: str, response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"{label}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return f"{label}: {response.status_code} without the error body: {response.text[:200]}"
        if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
            return f"{label}: {response.status_code} error body lacks code or message"
    return None


def _assert_none(failures: list[str | None]) -> None:
    found = [failure for failure in failures if failure]
    assert not found, "\n".join(found)


BODY_OPERATIONS = [op for op in OPERATIONS if op.body_schema is not None]
PATH_OPERATIONS = [op for op in OPERATIONS if op.path_parameters]
QUERY_OPERATIONS = [op for op in OPERATIONS if op.query_parameters]


# Operations whose base body must succeed, so that the hostile values in it reach the handler
# and the database rather than fail beside a broken base.
ACCEPTING = {
    "POST /api/v1/admin/products",
    "PATCH /api/v1/admin/products/{code}",
    "POST /api/v1/admin/knowledge",
    "PATCH /api/v1/admin/knowledge/{article_id}",
    "POST /api/v1/payments",
    "POST /api/v1/admin/broadcast-templates",
    "PATCH /api/v1/admin/broadcast-templates/{template_id}",
    "POST /api/v1/admin/segments/preview",
    "POST /api/v1/admin/broadcasts",
    "PUT /api/v1/me/marketing",
    "POST /api/v1/accounts/link",
    "POST /api/v1/devices",
    "PATCH /api/v1/devices/{device_id}",
    "POST /api/v1/ea/snapshot",
    "POST /api/v1/stripe/webhook",
    "POST /api/v1/admin/signals",
    "POST /telegram/webhook",
}


async def test_the_base_bodies_are_accepted(caller: Caller) -> None:
    refused = []
    for operation in BODY_OPERATIONS:
        if str(operation) not in ACCEPTING:
            continue
        body = json.dumps(_valid_body(caller, operation)).encode()
        url = operation.url(caller.path_values)
        response = await caller.send(operation.method, url, body, "application/json")
        if response.status_code >= 300:
            refused.append(f"{operation}: {response.status_code} {response.text[:200]}")
    assert not refused, "\n".join(refused)


def test_the_table_is_as_large_as_the_issue_asks() -> None:
    assert len(RAW_BODIES) + len(FIELD_VALUES) >= 40
    assert {STRIPE_PATH, TELEGRAM_PATH} <= {op.path for op in BODY_OPERATIONS}
    assert len(BODY_OPERATIONS) >= 20


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=str)
async def test_hostile_bodies_get_a_4xx_with_the_error_body(
    caller: Caller, operation: Operation
) -> None:
    failures = []
    url = operation.url(caller.path_values)
    for raw in RAW_BODIES:
        response = await caller.send(operation.method, url, raw.content, raw.content_type)
        failures.append(_failure(f"body {raw.name}", response))
    base = _valid_body(caller, operation)
    properties = list(base) if isinstance(base, dict) else []
    variants = (
        _nested_variants(caller, operation)
        if operation.path in (STRIPE_PATH, TELEGRAM_PATH)
        else body_variants(base, properties)
    )
    for label, content in variants:
        response = await caller.send(operation.method, url, content, "application/json")
        failures.append(_failure(label, response))
    _assert_none(failures)


@pytest.mark.parametrize("operation", PATH_OPERATIONS, ids=str)
async def test_hostile_path_values_get_a_4xx(caller: Caller, operation: Operation) -> None:
    failures = []
    for label, value in PATH_VALUES:
        url = operation.url(dict.fromkeys(operation.path_parameters, value))
        response = await caller.send(operation.method, url)
        failures.append(_failure(f"path {label}", response))
    _assert_none(failures)


@pytest.mark.parametrize("operation", QUERY_OPERATIONS, ids=str)
async def test_hostile_query_values_get_a_4xx(caller: Caller, operation: Operation) -> None:
    failures = []
    for name in operation.query_parameters:
        for label, value in FIELD_VALUES:
            # A URL is bounded by the server's request-line limit long before 100 kB.
            text = (value if isinstance(value, str) else json.dumps(value))[:MAX_QUERY_VALUE]
            # A lone surrogate goes out as the invalid UTF-8 bytes a broken client would send.
            query = f"{name}={quote(text.encode('utf-8', 'surrogatepass'), safe='')}"
            response = await caller.send(operation.method, operation.url(caller.path_values, query))
            failures.append(_failure(f"query {name}={label}", response))
    _assert_none(failures)
