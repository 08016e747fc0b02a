"""Prometheus multiprocess mode. prometheus_client picks its storage when first imported, so
this module must not import it, and `enable` runs before anything that does."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enable(directory: Path | None, *, processes: int) -> Path | None:
    """Every process of this command writes its samples under `directory` (SIGNALHUB_METRICS_DIR,
    shared with `signalhub worker` on the same host). Without it, a multi-process `serve` makes a
    fresh directory of its own; returns that one, which the caller removes on exit."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        return None
    made = None
    if directory is None:
        if processes < 2:
            return None
        directory = made = Path(tempfile.mkdtemp(prefix="signalhub-metrics-"))
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before multiprocess mode was set")
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_DIR_ENV] = str(directory)
    return made
