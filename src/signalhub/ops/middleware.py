"""One pure ASGI middleware: request id, access log and metrics; a body-size limit, a body read
timeout and a bound on JSON nesting."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signalhub.kit.logging import NOT_MASKED, request_id_var
from signalhub.ops.metrics import http_latency, http_requests

logger = logging.getLogger("signalhub.http")
# A caller's own request id is kept when it is a plain token (a UUID, a trace id); anything else
# is replaced, so the access line holds nothing a client could smuggle into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# nginx's name for "the client closed the connection before we answered": not a server error.
CLIENT_CLOSED_REQUEST = 499
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
# No request of ours nests deeper than a few levels; a parser's recursion ends far later, and at
# a depth where it costs the server's stack, not the client's.
MAX_JSON_DEPTH = 64
# A JSON string (escapes included) or one bracket: the depth count skips what is inside strings.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class RequestMiddleware:
    """Wraps every request once, as one layer: each layer of ASGI middleware costs a call and
    two closures per request, a tenth of an authenticated read's CPU for the two this was.

    - A request id (the caller's own when it is a plain token), returned as `X-Request-Id` and
      put on every log line of the request; one access line and the HTTP metrics per request.
    - The whole body is read before the app sees it, so that the app never waits on a client:
      413 for a body over the limit, whether or not Content-Length announces it; 408 when no
      part of the body arrives for `read_timeout_s` (a client that stalls would otherwise hold
      a connection and a handler forever); 400 for JSON nested deeper than MAX_JSON_DEPTH.
      `path_limits` sets another size limit for every path under a prefix (e.g. the EA API);
      the longest matching prefix wins, so one endpoint can differ from its API's."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        read_timeout_s: float,
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s
        self.path_limits = path_limits or {}

    def _limit_for(self, path: str) -> int:
        matching = [prefix for prefix in self.path_limits if path.startswith(prefix)]
        if not matching:
            return self.max_bytes
        return self.path_limits[max(matching, key=len)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status: int | None = None
        disconnected = False
        started = time.perf_counter()

        async def receive_watching_disconnect() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            body = await self._read_body(scope, headers, receive_watching_disconnect, send_with_id)
            if body is not None:
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if replayed:
                        return await receive_watching_disconnect()
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}

                await self.app(scope, replay, send_with_id)
        finally:
            if status is None:
                # Nothing was answered: the client left first, or the app failed (the error
                # handler outside this middleware answers 500 and logs the traceback).
                status = CLIENT_CLOSED_REQUEST if disconnected else 500
            elapsed = time.perf_counter() - started
            # The route template, never the requested path: a path or its query string can hold
            # a token, and this line is not masked.
            route = getattr(scope.get("route"), "path", "unmatched")
            # Any token is a method to the HTTP parser: an unknown one must not mint a label.
            method = scope["method"] if scope["method"] in HTTP_METHODS else "OTHER"
            http_requests.labels(method, route, str(status)).inc()
            http_latency.labels(method, route).observe(elapsed)
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    NOT_MASKED: True,
                },
            )
            request_id_var.reset(token)

    async def _read_body(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive, send: Send
    ) -> bytes | None:
        """The whole body, or None when the request was answered (rejected) or the client left."""
        max_bytes = self._limit_for(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await _reject(
                send, 413, "payload_too_large", f"Request body is over {max_bytes} bytes."
            )
            return None
        # A request that announces no body (most GETs) has its one message ready: no timer for
        # it, as a timer costs more than the rest of this middleware.
        announces_body = declared not in (None, b"0") or b"transfer-encoding" in headers

        chunks: list[bytes] = []
        received = 0
        while True:
            if announces_body:
                try:
                    async with asyncio.timeout(self.read_timeout_s):
                        message = await receive()
                except TimeoutError:
                    await _reject(
                        send,
                        408,
                        "request_timeout",
                        f"No part of the request body arrived for {self.read_timeout_s:g} s.",
                    )
                    return None
            else:
                message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_bytes:
                await _reject(
                    send, 413, "payload_too_large", f"Request body is over {max_bytes} bytes."
                )
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        if json_too_deep(body):
            await _reject(
                send,
                400,
                "json_too_deep",
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
            )
            return None
        return body


def json_too_deep(body: bytes) -> bool:
    """True when `body` opens more than MAX_JSON_DEPTH arrays or objects inside each other. The
    bracket count in C answers for nearly every body; only one with many brackets is scanned."""
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for token in _JSON_TOKEN.finditer(body):
        bracket = token.group()
        if bracket in (b"{", b"["):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif bracket in (b"}", b"]"):
            depth -= 1
    return False


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    """Answers before the body was read to its end, so the connection cannot carry another
    request: `Connection: close` makes the server close it after this answer."""
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
