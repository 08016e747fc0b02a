"""`signalhub device run`: a device that speaks the signed EA API like the MT5 Expert Advisor
and fills orders in simulation. The tests, the benchmark and the demo use it.

It polls for approved signals, skips what has expired, "executes" the rest at a simulated price
and acknowledges each with a ticket, the price and the volume. The server offers a signal again
when it did not receive the ack within its lease; the device then re-sends the recorded ack and
never executes an approval twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from signalhub.accounts.schemas import SnapshotIn
from signalhub.devices.signing import signed_headers
from signalhub.positions.gateway import SimulatedGateway

logger = logging.getLogger("signalhub.device")

POLL_WAIT_S = 25
RETRY_S = 5.0
SNAPSHOT_EVERY_S = 5.0


class DeviceRefused(Exception):
    """The server refused the device for good (revoked, unknown, wrong secret)."""


@dataclass(frozen=True)
class Fill:
    approval_id: int
    symbol: str
    side: str
    status: str
    ticket: int | None
    price: str | None
    volume: str | None
    error: str | None

    def describe(self) -> str:
        if self.status == "executed":
            return f"{self.symbol} {self.side} executed at {self.price}, ticket {self.ticket}"
        return f"{self.symbol} {self.side} {self.status}: {self.error}"


class DeviceClient:
    """Signs every request; follows the server's clock when it answers clock_skew."""

    def __init__(
        self,
        url: str,
        device_id: int,
        secret: str,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.device_id = device_id
        self._secret = secret
        self._http = http or httpx.AsyncClient(base_url=url.rstrip("/"), timeout=POLL_WAIT_S + 10)
        self._clock = clock
        # Seconds to add to the local clock, learnt from the server's clock_skew answers.
        self.clock_offset_s = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, target: str, payload: dict[str, Any] | None = None
    ) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        for _ in range(2):
            headers = signed_headers(
                self.device_id,
                self._secret,
                method,
                target,
                body,
                timestamp=int(self._clock()) + self.clock_offset_s,
            )
            if body:
                headers["Content-Type"] = "application/json"
            response = await self._http.request(method, target, content=body, headers=headers)
            if response.status_code == 401 and self._error_code(response) == "clock_skew":
                server_time = int(response.json()["error"]["server_time"])
                self.clock_offset_s = server_time - int(self._clock())
                logger.warning(
                    "device clock off; following the server's",
                    extra={"offset_s": self.clock_offset_s},
                )
                continue
            break
        if response.status_code == 401:
            raise DeviceRefused(response.json()["error"]["message"])
        return response

    @staticmethod
    def _error_code(response: httpx.Response) -> str | None:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None
        return str(code)

    async def poll(self, wait_s: int = POLL_WAIT_S) -> list[dict[str, Any]]:
        response = await self.request("GET", f"/api/v1/ea/poll?wait={wait_s}")
        response.raise_for_status()
        signals: list[dict[str, Any]] = response.json()["signals"]
        return signals

    async def snapshot(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.request("POST", "/api/v1/ea/snapshot", payload)

    async def ack(self, fill: Fill) -> httpx.Response:
        payload: dict[str, Any] = {"approval_id": fill.approval_id, "status": fill.status}
        for field in ("ticket", "price", "volume", "error"):
            value = getattr(fill, field)
            if value is not None:
                payload[field] = value
        return await self.request("POST", "/api/v1/ea/ack", payload)


class SimulatedBroker:
    """Fills at the signal's entry price; tickets count up from a random start, as a
    broker's would."""

    def __init__(self, volume: Decimal, seed: int | None = None) -> None:
        self.volume = volume
        self._next_ticket = random.Random(seed).randint(100_000, 900_000)  # noqa: S311

    def execute(self, signal: dict[str, Any], now: datetime) -> Fill:
        approval_id, symbol, side = int(signal["approval_id"]), signal["symbol"], signal["side"]
        if datetime.fromisoformat(signal["expires_at"]) <= now:
            return Fill(approval_id, symbol, side, "skipped", None, None, None, "expired")
        self._next_ticket += 1
        return Fill(
            approval_id,
            symbol,
            side,
            "executed",
            ticket=self._next_ticket,
            price=str(signal["entry_price"]),
            volume=str(self.volume),
            error=None,
        )


class Executions:
    """What this device did with each approval, by approval id: a signal offered again (the
    ack or the answer that carried the signal was lost) gets the recorded fill, so its ack is
    sent again word for word and the order is never placed twice. In memory: a restarted
    device has forgotten, as the server has not."""

    def __init__(self, broker: SimulatedBroker) -> None:
        self._broker = broker
        self._fills: dict[int, Fill] = {}

    def fill(self, signal: dict[str, Any], now: datetime) -> tuple[Fill, bool]:
        """The signal's fill, and whether it was executed now (False: it was recorded before)."""
        recorded = self._fills.get(int(signal["approval_id"]))
        if recorded is not None:
            return recorded, False
        fill = self._broker.execute(signal, now)
        self._fills[fill.approval_id] = fill
        return fill, True


async def run(
    client: DeviceClient,
    broker: SimulatedBroker,
    *,
    wait_s: int = POLL_WAIT_S,
    on_fill: Callable[[Fill], None] = lambda fill: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Polls until `stop` is set; raises DeviceRefused when the server refuses the device.
    `on_fill` hears of each approval once, when it is executed."""
    stop = stop or asyncio.Event()
    executions = Executions(broker)
    while not stop.is_set():
        try:
            signals = await client.poll(wait_s)
        except (httpx.TransportError, httpx.HTTPStatusError) as error:
            logger.warning("poll failed; retrying", extra={"error": str(error)})
            await asyncio.sleep(RETRY_S)
            continue
        for signal in signals:
            fill, executed = executions.fill(signal, datetime.now(UTC))
            if not executed:
                logger.info(
                    "signal offered again; acking it again", extra={"approval_id": fill.approval_id}
                )
            await _ack(client, fill)
            if executed:
                on_fill(fill)


async def _ack(client: DeviceClient, fill: Fill, attempts: int = 3) -> None:
    """An ack is idempotent on the server, so a lost answer is simply sent again."""
    for attempt in range(1, attempts + 1):
        try:
            response = await client.ack(fill)
        except httpx.TransportError as error:
            logger.warning("ack not delivered", extra={"attempt": attempt, "error": str(error)})
            await asyncio.sleep(RETRY_S)
            continue
        if response.status_code != 200:
            logger.warning(
                "ack refused", extra={"status": response.status_code, "body": response.text}
            )
        return


async def push_snapshots(
    client: DeviceClient,
    account: SimulatedGateway,
    login: int,
    server: str,
    *,
    every_s: float = SNAPSHOT_EVERY_S,
    on_answer: Callable[[dict[str, Any]], None] = lambda answer: None,
    stop: asyncio.Event | None = None,
) -> None:
    """Reports the account (MetaTrader's account_info() and positions_get(), here from the
    simulated walk) every `every_s` seconds, as the EA does on its timer, until `stop` is set."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        payload = SnapshotIn.from_snapshot(account.step(login, server)).model_dump(mode="json")
        try:
            response = await client.snapshot(payload)
        except httpx.TransportError as error:
            logger.warning("snapshot not delivered", extra={"error": str(error)})
        else:
            if response.status_code == 200:
                on_answer(response.json())
            else:
                logger.warning(
                    "snapshot refused",
                    extra={"status": response.status_code, "body": response.text},
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
