"""A fake Telegram Bot API on 127.0.0.1: real HTTP on `/bot<token>/<method>`, Telegram-shaped
answers, every call recorded, scripted failures (429 with retry_after, 403 blocked, 5xx), and
counters that report breaches of the sending limits."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 123456789
BOT_USERNAME = "signalhub_test_bot"
# Methods that deliver something to a chat: these count against the rate limits.
SEND_METHODS = {"sendMessage", "sendInvoice", "sendPhoto", "sendDocument"}
JSON_FIELDS = {"prices", "reply_markup", "allowed_updates"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    token: str
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class Scripted:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Violations:
    over_rate: int = 0
    over_chat: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.over_rate + self.over_chat


class FakeTelegramAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scripted: dict[int, deque[Scripted]] = defaultdict(deque)
        self.method_failures: dict[str, deque[Scripted]] = defaultdict(deque)
        self.blocked: set[int] = set()
        self.latency_s = 0.0
        # A request's time on the wire before Telegram counts it: none, or one draw per call.
        self.transit_s: Callable[[], float] | None = None
        self.pending_updates: list[dict[str, Any]] = []
        self.base_url = ""
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # -- control -----------------------------------------------------------------------------
    def reset(self) -> None:
        self.calls.clear()
        self.scripted.clear()
        self.method_failures.clear()
        self.blocked.clear()
        self.latency_s = 0.0
        self.transit_s = None
        self.pending_updates.clear()

    def fail_next(self, chat_id: int, status: int, description: str, *, times: int = 1) -> None:
        for _ in range(times):
            self.scripted[chat_id].append(Scripted(status, description))

    def fail_method_next(
        self, method: str, status: int, description: str, *, times: int = 1
    ) -> None:
        """The next calls of `method` fail, e.g. getMe while Telegram is down."""
        self.method_failures[method].extend(Scripted(status, description) for _ in range(times))

    def flood_next(self, chat_id: int, retry_after: int) -> None:
        self.scripted[chat_id].append(
            Scripted(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        )

    def block(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def push_update(self, update: dict[str, Any]) -> None:
        """Delivered to the next getUpdates (long polling)."""
        self.pending_updates.append(update)

    # -- inspection --------------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sends(self) -> list[Call]:
        return [call for call in self.calls if call.method in SEND_METHODS]

    def delivered_texts(self) -> list[str]:
        return [str(call.params["text"]) for call in self.of("sendMessage") if call.status == 200]

    def violations(self, rate_per_s: float, chat_interval_s: float) -> Violations:
        """Any 1-second window holding more than `rate_per_s` sends, and any two sends to one
        chat closer than `chat_interval_s`, measured on arrival as Telegram would."""
        result = Violations()
        times = sorted(call.at for call in self.sends())
        window_start = 0
        for index, moment in enumerate(times):
            while moment - times[window_start] >= 1.0:
                window_start += 1
            if index - window_start + 1 > rate_per_s:
                result.over_rate += 1
                result.details.append(f"{index - window_start + 1} sends within 1 s at {moment}")
        per_chat: dict[int, list[float]] = defaultdict(list)
        for call in self.sends():
            if call.chat_id is not None:
                per_chat[call.chat_id].append(call.at)
        for chat_id, moments in per_chat.items():
            moments.sort()
            for earlier, later in itertools.pairwise(moments):
                if later - earlier < chat_interval_s:
                    result.over_chat += 1
                    result.details.append(f"chat {chat_id}: {later - earlier:.3f} s apart")
        return result

    # -- server ------------------------------------------------------------------------------
    def application(self) -> web.Application:
        """The Bot API routes; a caller may add its own (bench/_fake_bot_api.py adds control
        routes when the fake runs in a process of its own)."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    async def start(self, app: web.Application | None = None, port: int = 0) -> str:
        self._runner = web.AppRunner(app or self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if self.transit_s is not None:
            await asyncio.sleep(self.transit_s())
        arrived = time.monotonic()
        method = request.match_info["method"]
        params = {key: _decode(key, value) for key, value in (await request.post()).items()}
        call = Call(method, params, arrived, request.match_info["token"])
        self.calls.append(call)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if method == "getUpdates" and not self.pending_updates:
            # A short long-poll: an empty answer at once would make the client spin.
            await asyncio.sleep(0.05)
        failure = self._failure_for(call)
        if failure is not None:
            call.status = failure.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _failure_for(self, call: Call) -> Scripted | None:
        if self.method_failures.get(call.method):
            return self.method_failures[call.method].popleft()
        if call.method not in SEND_METHODS or call.chat_id is None:
            return None
        if call.chat_id in self.blocked:
            return Scripted(403, "Forbidden: bot was blocked by the user")
        queue = self.scripted.get(call.chat_id)
        return queue.popleft() if queue else None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        now = int(time.time())
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Signalhub",
                "username": BOT_USERNAME,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in {"sendMessage", "editMessageText", "sendInvoice", "sendPhoto"}:
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": now,
                "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Signalhub"},
            }
            if method == "sendInvoice":
                message["invoice"] = {
                    "title": params["title"],
                    "description": params["description"],
                    "start_parameter": "",
                    "currency": params["currency"],
                    "total_amount": sum(price["amount"] for price in params["prices"]),
                }
            elif method == "sendPhoto":
                message["photo"] = [
                    {"file_id": "fake-photo", "file_unique_id": "fake", "width": 1, "height": 1}
                ]
                message["caption"] = params.get("caption", "")
            else:
                message["text"] = params.get("text", "")
            return message
        if method == "getUpdates":
            delivered, self.pending_updates = self.pending_updates, []
            return delivered
        if method == "createInvoiceLink":
            return f"https://t.me/$fake_invoice_{next(self._message_ids)}"
        if method == "getWebhookInfo":
            return {
                "url": self._last_param("setWebhook", "url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
                "allowed_updates": self._last_param("setWebhook", "allowed_updates", []),
            }
        return True

    def _last_param(self, method: str, name: str, default: Any) -> Any:
        calls = self.of(method)
        return calls[-1].params.get(name, default) if calls else default


def _decode(key: str, value: Any) -> Any:
    """aiogram sends structured fields as JSON text inside the form."""
    if key in JSON_FIELDS and isinstance(value, str):
        return json.loads(value)
    return value
