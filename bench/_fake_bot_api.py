"""The fake Bot API (tests/fakes/telegram_api.py) in a process of its own, so a benchmark's
measuring loop and the fake's request handling do not share an event loop or a CPU slice.

`python -m bench._fake_bot_api LATENCY_S` prints its base URL on the first line of stdout and
serves until terminated. Control routes for the benchmark: `/_fake/progress` (calls so far),
`/_fake/sends` (every send: chat, arrival time on the shared monotonic clock, status, text) and
`/_fake/violations?rate=R&chat_interval=S`. `FakeBotApiProcess` drives it from the benchmark."""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
from aiohttp import web
from tests.fakes.telegram_api import FakeTelegramAPI


@dataclass(frozen=True)
class Send:
    chat_id: int | None
    at: float
    status: int
    text: str


def _control_routes(fake: FakeTelegramAPI) -> web.Application:
    app = fake.application()

    async def progress(_request: web.Request) -> web.Response:
        return web.json_response({"calls": len(fake.calls)})

    async def sends(_request: web.Request) -> web.Response:
        return web.json_response(
            [
                [
                    call.chat_id,
                    call.at,
                    call.status,
                    str(call.params.get("text", call.params.get("caption", ""))),
                ]
                for call in fake.sends()
            ]
        )

    async def violations(request: web.Request) -> web.Response:
        found = fake.violations(float(request.query["rate"]), float(request.query["chat_interval"]))
        return web.json_response(
            {
                "over_rate": found.over_rate,
                "over_chat": found.over_chat,
                "details": found.details[:5],
            }
        )

    app.router.add_get("/_fake/progress", progress)
    app.router.add_get("/_fake/sends", sends)
    app.router.add_get("/_fake/violations", violations)
    return app


async def _serve(latency_s: float) -> None:
    fake = FakeTelegramAPI()
    fake.latency_s = latency_s
    base_url = await fake.start(_control_routes(fake))
    print(base_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await fake.stop()


class FakeBotApiProcess:
    """Starts the fake in a child process; `async with` stops it."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.base_url = ""
        self.process: asyncio.subprocess.Process | None = None
        self._client = httpx.AsyncClient(timeout=120)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def __aenter__(self) -> FakeBotApiProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._fake_bot_api",
            str(self.latency_s),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.base_url = (await self.process.stdout.readline()).decode().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the fake Bot API did not start")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.aclose()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self._client.get(f"{self.base_url}{path}", params=params)
        response.raise_for_status()
        return response.json()

    async def calls(self) -> int:
        return int((await self._get("/_fake/progress"))["calls"])

    async def sends(self) -> list[Send]:
        return [Send(*row) for row in await self._get("/_fake/sends")]

    async def violations(self, rate_per_s: float, chat_interval_s: float) -> dict[str, Any]:
        result: dict[str, Any] = await self._get(
            "/_fake/violations", rate=rate_per_s, chat_interval=chat_interval_s
        )
        return result


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1])))
