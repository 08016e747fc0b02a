"""Built Mini App sizes: the JS a first open downloads (entry script and its modulepreloads),
gzipped, against the 120 KB budget; lazy chunks and CSS listed beside it."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

DIST = Path(__file__).parents[1] / "miniapp" / "dist"
BUDGET_GZIP_BYTES = 120 * 1024


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


async def main() -> dict[str, Any]:
    index = (DIST / "index.html").read_text()
    initial = sorted(
        set(re.findall(r'<script[^>]+src="/miniapp/([^"]+\.js)"', index))
        | set(re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/miniapp/([^"]+\.js)"', index))
    )
    assets = sorted((DIST / "assets").iterdir())
    initial_gzip = sum(gzipped_size(DIST / name) for name in initial)
    return {
        "initial_js_files": initial,
        "initial_js_gzip_bytes": initial_gzip,
        "budget_gzip_bytes": BUDGET_GZIP_BYTES,
        "within_budget": initial_gzip <= BUDGET_GZIP_BYTES,
        "files": {
            f"assets/{asset.name}": {
                "bytes": asset.stat().st_size,
                "gzip_bytes": gzipped_size(asset),
            }
            for asset in assets
            if asset.suffix in {".js", ".css"}
        },
    }
