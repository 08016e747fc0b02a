"""`Idempotency-Key` for our own POST routes, with the semantics of Stripe's and of the IETF
draft: a retry of a request, however it is repeated, has the effect of one.

A route takes `IdempotencyDep` and hands its work to `run`. The key is scoped to the signed-in
user (read from the token, so the claim comes before the request's own session touches the
database: a request never holds two pooled connections while it waits) and the route. The first
request with the key claims it in a short transaction of its own (so a concurrent duplicate sees
the claim at once), does its work in the request's transaction, and stores its response in that
same transaction: the response is kept exactly when the work is.

- same key, same request, after completion → the stored status and body, `Idempotent-Replayed`;
- same key, another method, path or body → 422 `idempotency_key_reused`;
- same key while the first request runs → 409 `idempotency_request_in_progress`, `Retry-After`;
- an error (any 4xx or 5xx raised by the work, or a failed commit) releases the key once the
  request's transaction has ended: a retry runs again;
- a claim whose request died without releasing it (a killed process) is taken over after
  `LOCK_TTL`; keys are kept `RETENTION`, then purged by the worker."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth.dependencies import Claims, user_for
from signalhub.auth.service import AccessClaims
from signalhub.billing.repository import IdempotencyKeyRepository
from signalhub.db import Database
from signalhub.dependencies import DatabaseDep
from signalhub.errors import AppError, Conflict, Unprocessable
from signalhub.kit.time import utcnow
from signalhub.models import IdempotencyKey, IdempotencyStatus

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
LOCK_TTL = timedelta(seconds=60)
RETRY_AFTER_S = 1
_KEY = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$")


class IdempotencyKeyInvalid(AppError):
    status_code = 400
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        )
        self.headers = {"Retry-After": str(RETRY_AFTER_S)}


@dataclass
class Idempotency:
    database: Database
    claims: AccessClaims
    scope: str
    key: str
    fingerprint: str
    # Set once this request owns the key: if it then fails, the dependency releases the key.
    claimed: bool = False

    @property
    def user_id(self) -> int:
        return self.claims.user_id

    @property
    def attempt_id(self) -> str:
        """A stable id for this key's attempt, for the providers' own idempotency keys: the
        same on every retry, different for every user, route and key."""
        digest = hashlib.sha256(f"{self.user_id}\n{self.scope}\n{self.key}".encode())
        return digest.hexdigest()[:32]

    async def run(
        self,
        session: AsyncSession,
        work: Callable[[], Awaitable[BaseModel]],
        *,
        status_code: int = 200,
    ) -> JSONResponse:
        stored = await self._claim(utcnow())
        if stored is not None:
            return JSONResponse(
                stored.response_body,
                status_code=stored.response_status or 200,
                headers={REPLAYED_HEADER: "true"},
            )
        self.claimed = True
        body = (await work()).model_dump(mode="json")
        await IdempotencyKeyRepository(session).complete(
            self.user_id, self.scope, self.key, status_code, body
        )
        return JSONResponse(body, status_code=status_code)

    async def _claim(self, now: datetime) -> IdempotencyKey | None:
        """None when this request now owns the key; the completed row to replay otherwise."""
        async with self.database.transaction() as session:
            # A banned account or a revoked token claims nothing and replays nothing.
            await user_for(session, self.claims)
            repository = IdempotencyKeyRepository(session)
            claim = IdempotencyKey(
                user_id=self.user_id,
                scope=self.scope,
                key=self.key,
                fingerprint=self.fingerprint,
                status=IdempotencyStatus.in_progress,
                locked_until=now + LOCK_TTL,
                expires_at=now + RETENTION,
                created_at=now,
            )
            if await repository.insert_if_absent(claim, "user_id", "scope", "key"):
                return None
            existing = await repository.get_for_update(self.user_id, self.scope, self.key)
            if existing is None or existing.expires_at <= now:
                # Expired but not yet purged (or purged just now): a fresh start.
                if await repository.replace(claim):
                    return None
                raise IdempotencyRequestInProgress()
            if existing.fingerprint != self.fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used for a different request; use a new key."
                )
            if existing.status is IdempotencyStatus.completed:
                return existing
            if existing.locked_until > now:
                raise IdempotencyRequestInProgress()
            existing.locked_until = now + LOCK_TTL
            return None

    async def release(self) -> None:
        async with self.database.transaction() as session:
            await IdempotencyKeyRepository(session).release(self.user_id, self.scope, self.key)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Method, path and the body in canonical form (JSON with sorted keys), so that the same
    request re-encoded by a client library still matches."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b"\n" + path.encode() + b"\n" + canonical).hexdigest()


async def _idempotency(
    request: Request,
    claims: Claims,
    database: DatabaseDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="1-255 printable ASCII characters, new for every attempt and reused "
            "by every retry of it (a UUID v4 is a good choice).",
        ),
    ] = None,
) -> AsyncIterator[Idempotency]:
    """Declare it before `SessionDep` in the route: dependencies close in reverse order, so the
    request's transaction has ended (rolled back) before a failed request releases its key,
    and the release never waits on that transaction's locks (SQLite's in particular)."""
    if idempotency_key is None:
        raise IdempotencyKeyInvalid(f"This endpoint requires an {HEADER} header.")
    if not _KEY.fullmatch(idempotency_key):
        raise IdempotencyKeyInvalid(f"{HEADER} must be 1-255 printable ASCII characters.")
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    guard = Idempotency(
        database=database,
        claims=claims,
        scope=f"{request.method} {template}",
        key=idempotency_key,
        fingerprint=fingerprint(request.method, request.url.path, await request.body()),
    )
    try:
        yield guard
    except Exception:
        if guard.claimed:
            await guard.release()
        raise


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency, scope="function")]
