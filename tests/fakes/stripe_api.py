"""A local stand-in for Stripe's REST API (the endpoints our client uses), served over real
HTTP by aiohttp on 127.0.0.1 in its own thread, so sync tests (the CLI) and async tests can
both reach it. It records every request, replays a POST with a seen Idempotency-Key the way
Stripe does, and answers queued errors in Stripe's error shape."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class QueuedError:
    status: int
    type: str
    message: str
    code: str | None
    headers: dict[str, str] = field(default_factory=dict)


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.events: list[dict[str, Any]] = []
        self.charges: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self._errors: deque[QueuedError] = deque()
        self._replies: dict[str, tuple[int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- control ---------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        for _ in range(times):
            self._errors.append(QueuedError(status, error_type, message, code, headers or {}))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_post("/v1/checkout/sessions", self._create_checkout_session)
            app.router.add_post("/v1/payment_intents", self._create_payment_intent)
            app.router.add_get("/v1/charges/{id}", self._retrieve_charge)
            app.router.add_get("/v1/customers/{id}", self._retrieve_customer)
            app.router.add_get("/v1/events", self._list_events)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.base_url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # -- endpoints -------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> RecordedRequest:
        form = {key: str(value) for key, value in (await request.post()).items()}
        recorded = RecordedRequest(
            request.method, request.path, dict(request.query), form, dict(request.headers)
        )
        self.requests.append(recorded)
        return recorded

    def _queued_error(self) -> web.Response | None:
        if not self._errors:
            return None
        error = self._errors.popleft()
        body: dict[str, Any] = {"error": {"type": error.type, "message": error.message}}
        if error.code:
            body["error"]["code"] = error.code
        return web.json_response(body, status=error.status, headers=error.headers)

    async def _create(
        self, request: web.Request, build: Callable[[dict[str, str]], dict[str, Any]]
    ) -> web.Response:
        """A POST whose Idempotency-Key was seen gets the first answer again, as at Stripe."""
        recorded = await self._record(request)
        key = recorded.idempotency_key
        if key and key in self._replies:
            status, body = self._replies[key]
            return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
        if (failure := self._queued_error()) is not None:
            return failure
        body = build(recorded.form)
        if key:
            self._replies[key] = (200, body)
        return web.json_response(body)

    async def _create_checkout_session(self, request: web.Request) -> web.Response:
        def build(form: dict[str, str]) -> dict[str, Any]:
            session_id = f"cs_test_{next(self._ids):06d}"
            return {
                "id": session_id,
                "object": "checkout.session",
                "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                "currency": form["line_items[0][price_data][currency]"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": _nested(form, "metadata"),
                "mode": form["mode"],
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "expires_at": int(time.time()) + 24 * 3600,
            }

        return await self._create(request, build)

    async def _create_payment_intent(self, request: web.Request) -> web.Response:
        def build(form: dict[str, str]) -> dict[str, Any]:
            intent_id = f"pi_{next(self._ids):06d}"
            return {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "client_secret": f"{intent_id}_secret_fake",
                "metadata": _nested(form, "metadata"),
                "status": "requires_payment_method",
            }

        return await self._create(request, build)

    async def _retrieve_charge(self, request: web.Request) -> web.Response:
        return await self._retrieve(request, self.charges, "charge")

    async def _retrieve_customer(self, request: web.Request) -> web.Response:
        return await self._retrieve(request, self.customers, "customer")

    async def _retrieve(
        self, request: web.Request, objects: dict[str, dict[str, Any]], kind: str
    ) -> web.Response:
        await self._record(request)
        if (failure := self._queued_error()) is not None:
            return failure
        object_id = request.match_info["id"]
        if object_id not in objects:
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such {kind}: '{object_id}'",
                        "param": "id",
                    }
                },
                status=404,
            )
        return web.json_response(objects[object_id])

    async def _list_events(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        if (failure := self._queued_error()) is not None:
            return failure
        gte = int(recorded.query.get("created[gte]", "0"))
        limit = int(recorded.query.get("limit", "10"))
        newest_first = sorted(
            (event for event in self.events if event["created"] >= gte),
            key=lambda event: (event["created"], event["id"]),
            reverse=True,
        )
        after = recorded.query.get("starting_after")
        if after is not None:
            ids = [event["id"] for event in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :]
        page = newest_first[:limit]
        return web.json_response(
            {
                "object": "list",
                "url": "/v1/events",
                "has_more": len(newest_first) > limit,
                "data": page,
            }
        )


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    """Stripe's form encoding: `metadata[user_id]=7` → {"user_id": "7"}."""
    prefix = f"{name}["
    return {key[len(prefix) : -1]: value for key, value in form.items() if key.startswith(prefix)}
