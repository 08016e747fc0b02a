"""Starts `signalhub serve` as a real process on a free port, the way `make run` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signalhub(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signalhub.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@contextmanager
def running_server(
    env: dict[str, str],
    cwd: Path,
    *serve_args: str,
    python: str = sys.executable,
    # A deadline, not a wait: on a loaded two-core machine the imports alone can take 30 s.
    startup_timeout_s: float = 120,
) -> Iterator[str]:
    """`python -m signalhub.cli serve <serve_args>`; `python` may be another venv's."""
    port = free_port()
    env = {**os.environ, **env, "SIGNALHUB_PORT": str(port)}
    log = (cwd / "server.log").open("w")
    process = subprocess.Popen(
        [python, "-m", "signalhub.cli", "serve", *serve_args],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=log,
        # Its own process group, so that its workers can be killed with it if it hangs.
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((cwd / "server.log").read_text())
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
