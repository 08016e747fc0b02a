"""`make bench`: runs every benchmark module in bench/ (or those named) and prints its figures.
Each module has `async def main() -> dict` and writes bench/results/<name>.json."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def benchmark_names() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not module.name.startswith("_") and module.name != "common"
    )


def main(names: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    for name in names or benchmark_names():
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        figures = asyncio.run(module.main())
        (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
