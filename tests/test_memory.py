"""The worker hands wholly free heap pages back to the system (issue 12: a long broadcast's
RSS otherwise creeps up while the live heap stays flat), and a served process keeps its start-up
heap out of the collector's walks (issue 15)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from signalhub.kit.memory import malloc_trim, trim_forever

needs_glibc = pytest.mark.skipif(malloc_trim() is None, reason="malloc_trim is glibc's")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@needs_glibc
def test_trimming_returns_the_pages_freed_between_live_objects() -> None:
    """100 MB in 2 KiB blocks (malloc's, not pymalloc's), then all but one block in 64 freed:
    glibc keeps the holes, pinned by the survivors, until it is told to trim."""
    blocks = [bytearray(2048) for _ in range(50_000)]
    survivors = blocks[::64]
    del blocks
    before = rss_mb()
    trim = malloc_trim()
    assert trim is not None
    trim(0)
    after = rss_mb()
    assert len(survivors) == 782
    assert before - after > 50, (before, after)


@needs_glibc
async def test_the_worker_loop_trims_until_cancelled() -> None:
    loop = asyncio.create_task(trim_forever(every_s=0.01))
    await asyncio.sleep(0.05)
    assert not loop.done()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop


def test_a_served_app_exempts_its_startup_heap_from_collections(tmp_path: Path) -> None:
    """A full collection walks every tracked object; after start-up that is the served app's
    few, not the hundreds of thousands that routes, models and mappers leave behind."""
    program = (
        "import gc, os\n"
        f"os.environ['SIGNALHUB_DATABASE_URL'] = 'sqlite+aiosqlite:///{tmp_path}/app.db'\n"
        "from signalhub.app import create_served_app\n"
        "before = len(gc.get_objects())\n"
        "create_served_app()\n"
        "print(before, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    tracked_before, frozen, tracked_after = map(int, result.stdout.split())
    assert frozen > tracked_before > 100_000
    assert tracked_after < 1_000
