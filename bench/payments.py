"""`POST /api/v1/payments` (Stars) against ONE real `signalhub serve` process on PostgreSQL, the
fake Bot API answering `createInvoiceLink`, driven by wrk at 32 connections: a fresh request
(a new Idempotency-Key each time: a claim, a payment request, a Bot API call, the stored
response) and a replayed one (a key already completed: one read and the stored response)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
from tests.fakes.telegram_api import FakeTelegramAPI

from bench.auth_sign_in import BOT_TOKEN, signed_body
from bench.common import bench_database_url, fresh_database
from bench.server import git_commit, signalhub_serve, wrk
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.models import Tier

USERS = 200
CONNECTIONS = 32
DURATION_S = 10
PRODUCT = "premium_month"
BODY = '{"product":"premium_month","method":"stars"}'
REPLAY_KEY = "bench-replay"

# One request per line of the tokens file, round robin; `key` makes the Idempotency-Key.
_LUA = """
local tokens = {{}}
for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
local i = 0
local sent = 0
local thread_tag = tostring(math.random(1, 1e9))
request = function()
  i = i % #tokens + 1
  sent = sent + 1
  local key = {key}
  return wrk.format("POST", "/api/v1/payments", {{
    ["Authorization"] = "Bearer " .. tokens[i],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }}, '{body}')
end
"""


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    async with database.transaction() as session:
        await catalog.create(
            session,
            ProductCreate(
                code=PRODUCT,
                name="Premium",
                tier=Tier.premium,
                duration_days=30,
                price_amount_minor=1900,
                price_stars=1500,
            ),
            actor_user_id=None,
        )
    await database.dispose()
    telegram = FakeTelegramAPI()
    await telegram.start()
    settings = {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_BASE": telegram.base_url,
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
    }
    runs = {}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            async with signalhub_serve(settings) as server:
                tokens = await _sign_in(server.base_url)
                tokens_file = Path(workdir) / "tokens.txt"
                tokens_file.write_text("".join(f"{token}\n" for token in tokens))
                # Every user completes the replay key once, so the timed run only replays.
                async with httpx.AsyncClient(base_url=server.base_url) as client:
                    for token in tokens:
                        response = await client.post(
                            "/api/v1/payments",
                            content=BODY,
                            headers=_headers(token, REPLAY_KEY),
                        )
                        assert response.status_code == 201, response.text
                links_before = len(telegram.of("createInvoiceLink"))
                runs["replayed"] = await wrk(
                    server,
                    "/api/v1/payments",
                    connections=CONNECTIONS,
                    duration_s=DURATION_S,
                    lua=_script(tokens_file, f'"{REPLAY_KEY}"'),
                )
                replay_links = len(telegram.of("createInvoiceLink")) - links_before
                runs["fresh"] = await wrk(
                    server,
                    "/api/v1/payments",
                    connections=CONNECTIONS,
                    duration_s=DURATION_S,
                    lua=_script(tokens_file, '"fresh-" .. thread_tag .. "-" .. sent'),
                )
    finally:
        await telegram.stop()
    assert replay_links == 0, "a replay reached the Bot API"
    return {
        "commit": git_commit(),
        "path": "POST /api/v1/payments (Stars, fake Bot API)",
        "server": "one `signalhub serve` process, PostgreSQL, load from wrk (own process)",
        "note": "measured on a 2-core machine shared with other agents' builds and tests: "
        "absolute figures are pessimistic and noisy; compare runs on the same machine only",
        "distinct_users": USERS,
        "connections": CONNECTIONS,
        "invoice_links_created_by_replays": replay_links,
        "runs": runs,
    }


def _headers(token: str, key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }


def _script(tokens_file: Path, key_expression: str) -> str:
    return _LUA.format(tokens=tokens_file, key=key_expression, body=BODY)


async def _sign_in(base_url: str) -> list[str]:
    tokens = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        for n in range(USERS):
            response = await client.post(
                "/api/v1/auth/telegram",
                content=signed_body(3_000_000 + n),
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
    return tokens
