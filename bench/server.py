"""What every HTTP benchmark shares: a real `signalhub serve` process started on its own port, a
load generator in another process (wrk for plain request loops), and the CPU that the server,
PostgreSQL and the load generator each spent, read from /proc."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
JWT_SECRET = "bench-secret-bench-secret-bench-secret"
_WRK_REPORT = "WRK-REPORT "

# wrk calls done() once at the end; it prints the figures as one JSON line.
_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"non_2xx":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\\n',
    "WRK-REPORT ", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def _process_table() -> dict[int, tuple[str, int, list[str]]]:
    table: dict[int, tuple[str, int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        table[pid] = (name, int(fields[1]), fields)
    return table


def _cpu_s(fields: list[str], *, reaped_children: bool) -> float:
    # utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat (11-14 after the name).
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def tree_cpu_s(root: int) -> float:
    """CPU of a process and all its live descendants (uvicorn's workers), plus what it reaped."""
    table = _process_table()
    pids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (_, ppid, _) in table.items() if ppid == parent]
        pids.update(children)
        frontier.extend(children)
    return sum(_cpu_s(table[pid][2], reaped_children=pid == root) for pid in pids if pid in table)


def postgres_cpu_s() -> float:
    """Every PostgreSQL process, plus the backends that already exited (reaped by the
    postmaster, so counted in its children's time)."""
    return sum(
        _cpu_s(fields, reaped_children=True)
        for name, _, fields in _process_table().values()
        if name.startswith("postgres")
    )


@dataclass
class CpuMeter:
    """CPU spent between start() and stop() by the server, PostgreSQL and our child processes
    (the load generator)."""

    server_pid: int
    # A load generator still running at stop(): the kernel counts a child's CPU in our
    # RUSAGE_CHILDREN only once it has exited and been reaped, so it is read from /proc.
    load_pid: int | None = None
    server_s: float = 0.0
    postgres_s: float = 0.0
    load_s: float = 0.0
    wall_s: float = 0.0

    def start(self) -> None:
        self._server = tree_cpu_s(self.server_pid)
        self._postgres = postgres_cpu_s()
        self._load = self._load_cpu_s()
        self._wall = time.perf_counter()

    def stop(self) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.server_s = tree_cpu_s(self.server_pid) - self._server
        self.postgres_s = postgres_cpu_s() - self._postgres
        self.load_s = self._load_cpu_s() - self._load

    def _load_cpu_s(self) -> float:
        running = 0.0 if self.load_pid is None else tree_cpu_s(self.load_pid)
        return running + _children_cpu_s() + _own_cpu_s()

    def per_request(self, requests: int) -> dict[str, float]:
        total = self.server_s + self.postgres_s + self.load_s
        return {
            "server_cpu_ms_per_request": round(self.server_s * 1000 / max(requests, 1), 3),
            "postgres_cpu_ms_per_request": round(self.postgres_s * 1000 / max(requests, 1), 3),
            "server_cpu_share_of_one_core": round(self.server_s / self.wall_s, 3),
            "load_generator_cpu_share": round(self.load_s / total, 3) if total else 0.0,
            "load_generator_cpu_share_of_one_core": round(self.load_s / self.wall_s, 3),
        }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Server:
    base_url: str
    pid: int
    log: Path


@asynccontextmanager
async def signalhub_serve(
    settings: Mapping[str, str], *, workers: int = 1
) -> AsyncIterator[Server]:
    """`signalhub serve` with these SIGNALHUB_ settings (names without the prefix), on a free
    loopback port. It logs at its default level, as deployed (an access line per request): the
    figures include what logging costs."""
    port = free_port()
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_JWT_SECRET": JWT_SECRET,
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
        **{f"SIGNALHUB_{name}": value for name, value in settings.items()},
        "SIGNALHUB_HOST": "127.0.0.1",
        "SIGNALHUB_PORT": str(port),
    }
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "server.log"
        with log.open("w") as log_stream:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "signalhub.cli",
                "serve",
                "--workers",
                str(workers),
                env=env,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=log_stream,
            )
            base_url = f"http://127.0.0.1:{port}"
            try:
                await _wait_until_up(base_url, process)
                yield Server(base_url, process.pid, log)
            except BaseException:
                print(log.read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                process.terminate()
                await asyncio.wait_for(process.wait(), timeout=30)


# Importing the app (aiogram's types above all) takes over a minute on the shared machine when
# other agents keep its cores busy.
START_UP_S = 300


async def _wait_until_up(base_url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_UP_S
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("signalhub serve exited during start-up")
            try:
                if (await client.get(f"{base_url}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"signalhub serve did not start within {START_UP_S} s")


async def wrk(
    server: Server,
    path: str,
    *,
    connections: int,
    duration_s: int,
    lua: str = "",
    threads: int = 1,
    warm_up_s: int = 0,
) -> dict[str, Any]:
    """A closed-loop wrk run (its own process) against the server: throughput, latency
    percentiles, errors and the CPU each party spent. `lua` may define `request` / `init`.
    `warm_up_s` runs the same load first, unmeasured: the pool's connections are opened and
    each caller's first request (a cache miss) is made, as they are on a server that has run
    for a while."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + _WRK_DONE)
    try:
        if warm_up_s:
            await _run_wrk(server, path, connections, warm_up_s, script.name, threads)
        meter = CpuMeter(server.pid)
        meter.start()
        out = await _run_wrk(server, path, connections, duration_s, script.name, threads)
        meter.stop()
    finally:
        os.unlink(script.name)
    line = next(line for line in out.splitlines() if line.startswith(_WRK_REPORT))
    report = json.loads(line.removeprefix(_WRK_REPORT))
    requests = int(report["requests"])
    errors = sum(
        report[key]
        for key in ("connect_errors", "read_errors", "write_errors", "non_2xx", "timeouts")
    )
    return {
        "connections": connections,
        "warm_up_s": warm_up_s,
        "requests": requests,
        "requests_per_s": round(requests / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p90_ms": round(report["p90_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "max_ms": round(report["max_us"] / 1000, 2),
        "errors": errors,
        **meter.per_request(requests),
    }


async def _run_wrk(
    server: Server, path: str, connections: int, duration_s: int, script: str, threads: int
) -> str:
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        script,
        server.base_url + path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode()[-2000:]}")
    return out.decode()


def lua_cycle_requests(method: str, path: str, items_file: Path, *, header: str | None) -> str:
    """A wrk script sending one request per line of `items_file`, round robin: the line is the
    body, or the value of `header` when one is named."""
    if header:
        make = f'wrk.format("{method}", "{path}", {{["{header}"] = items[i]}})'
    else:
        make = (
            f'wrk.format("{method}", "{path}", {{["Content-Type"] = "application/json"}}, items[i])'
        )
    return f"""
local items = {{}}
for line in io.lines("{items_file}") do items[#items + 1] = line end
local i = 0
request = function()
  i = i % #items + 1
  return {make}
end
"""


def git_commit() -> str:
    """The commit measured, with "-dirty" when the code (src/, bench/) differs from it; earlier
    figures in bench/results do not count."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--", "src", "bench", ":(exclude)bench/results"],
        check=False,
    ).returncode
    return (commit or "unknown") + ("-dirty" if changed else "")
