"""The load generator of bench/devices.py, in a process of its own: many simulated EA devices
long-polling one server, each acknowledging what it receives.

    python -m bench._device_fleet CONFIG.json RESULT.json

CONFIG holds the server URL and the devices (id, secret). The fleet prints `started` once every
device has sent its first poll, and runs until its stdin closes; RESULT then receives when each
poll was sent, when each poll and ack was answered, and when each signal arrived (unix seconds,
this machine's clock): `receipts` once per approval and device, `re_offers` each time the server
offered a device an approval again (its ack had not arrived within the lease), which the device
acknowledged again without executing it twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from signalhub.devices.client import DeviceClient, Executions, SimulatedBroker

WAIT_S = 25
# Devices start over this many seconds, as terminals coming online would, not all at once.
RAMP_S = 20.0


async def device_loop(
    client: DeviceClient, delay_s: float, record: dict[str, Any], started: asyncio.Event
) -> None:
    await asyncio.sleep(delay_s)
    executions = Executions(SimulatedBroker(Decimal("0.10"), seed=client.device_id))
    while True:
        record["polls"].append(time.time())
        started.set()
        try:
            signals = await client.poll(WAIT_S)
        except (httpx.HTTPError, ValueError) as error:
            record["errors"].append(f"poll: {type(error).__name__}: {error}"[:200])
            await asyncio.sleep(1)
            continue
        arrived = time.time()
        record["answered"].append(arrived)
        for signal in signals:
            fill, executed = executions.fill(signal, datetime.now(UTC))
            received = [signal["approval_id"], client.device_id, arrived]
            record["receipts" if executed else "re_offers"].append(received)
            try:
                response = await client.ack(fill)
            except httpx.HTTPError as error:
                # A device whose ack timed out polls on, as a terminal would.
                record["errors"].append(f"ack: {type(error).__name__}: {error}"[:200])
                continue
            record["answered"].append(time.time())
            if response.status_code != 200:
                record["errors"].append(f"ack {response.status_code}")


async def run(config: dict[str, Any]) -> dict[str, Any]:
    devices = config["devices"]
    record: dict[str, Any] = {
        "polls": [],
        "answered": [],
        "receipts": [],
        "re_offers": [],
        "errors": [],
    }
    # One HTTP client per device, as each terminal is its own client: one client with a
    # thousand pooled connections spends its CPU matching requests to connections (httpcore's
    # pool scans every connection for every request), and the load generator, not the server,
    # then sets the pace. One TLS context serves them all (building one costs milliseconds).
    tls = httpx.create_ssl_context()
    async with contextlib.AsyncExitStack() as clients_open:
        clients = [
            DeviceClient(
                config["url"],
                device["id"],
                device["secret"],
                await clients_open.enter_async_context(
                    httpx.AsyncClient(base_url=config["url"], timeout=WAIT_S + 30, verify=tls)
                ),
            )
            for device in devices
        ]
        everyone_started = [asyncio.Event() for _ in clients]
        tasks = [
            asyncio.create_task(device_loop(c, RAMP_S * n / len(clients), record, event))
            for n, (c, event) in enumerate(zip(clients, everyone_started, strict=True))
        ]
        await asyncio.gather(*(event.wait() for event in everyone_started))
        print("started", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return record


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(run(config))
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
