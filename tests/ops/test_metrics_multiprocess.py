"""`signalhub serve --workers 2` as a real server: a scrape of /metrics, whichever worker answers
it, counts the requests both workers served."""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import running_server, signalhub

ROUTE = "/api/v1/app-config"
BATCH = 40


def served_per_process(metrics_dir: Path) -> Counter[str]:
    """Requests to ROUTE as each worker process wrote them to its own file."""
    served: Counter[str] = Counter()
    for path in metrics_dir.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(str(path)):
            _metric, sample, labels, _help = json.loads(key)
            if sample == "signalhub_http_requests_total" and labels["route"] == ROUTE:
                served[pid] += int(value)
    return served


def scraped_total(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    (family,) = [
        f for f in text_string_to_metric_families(text) if f.name == "signalhub_http_requests"
    ]
    return sum(
        s.value for s in family.samples if s.name.endswith("_total") and s.labels["route"] == ROUTE
    )


def one_request(base_url: str) -> None:
    # A new connection each time, so the kernel hands them to either worker.
    assert httpx.get(f"{base_url}{ROUTE}", timeout=10).status_code == 200


def test_a_scrape_sums_the_counters_of_both_workers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
        "SIGNALHUB_METRICS_DIR": str(metrics_dir),
    }
    env.pop("SIGNALHUB_TELEGRAM_BOT_TOKEN", None)
    assert signalhub("migrate", env=env, cwd=tmp_path).returncode == 0

    # Two workers importing the app at once on a loaded two-core machine can take a while.
    with running_server(env, tmp_path, "--workers", "2", startup_timeout_s=180) as base_url:
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            # Until both workers have served some (bounded: the kernel spreads them quickly).
            while len(served_per_process(metrics_dir)) < 2 and sent < 20 * BATCH:
                list(pool.map(lambda _: one_request(base_url), range(BATCH)))
                sent += BATCH
        per_process = served_per_process(metrics_dir)
        assert len(per_process) == 2, per_process
        assert all(count > 0 for count in per_process.values())
        assert sum(per_process.values()) == sent
        for _ in range(4):
            assert scraped_total(base_url) == sent
