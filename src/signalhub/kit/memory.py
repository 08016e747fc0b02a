"""Keeping a long-running process's heap cheap: the collector leaves start-up's objects alone,
and freed pages go back to the system.

A served process holds about 350,000 objects after start-up (the routes, their pydantic models,
SQLAlchemy's mappers), none of which ever becomes garbage. CPython's full collection walks all of
them: 160 ms on this machine, once a second or more under load, which was a sixth of the server's
CPU and every closed-loop benchmark's p99 (issue 15). `freeze_startup_heap` moves them out of the
collector's sight once start-up is done.

glibc keeps memory that Python frees inside its heaps and returns it only when the top of a heap
is free. A worker that sends a 100,000-message broadcast frees as much as it allocates, but the
few objects that stay alive (a connection's buffers, a cached statement) pin the pages around
them, and RSS creeps up although the live heap does not (tracemalloc and glibc's own count stay
flat; see issue 12). `malloc_trim` releases every wholly free page, wherever it is."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from signalhub.config import Settings
from signalhub.db import Database

TRIM_EVERY_S = 30.0


def freeze_startup_heap() -> None:
    """Collects start-up's garbage, then exempts every surviving object from later collections.
    For a process that is done starting (a served app, a worker); objects created afterwards
    are collected as usual."""
    gc.collect()
    gc.freeze()


def malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None under another C library (musl, macOS), which needs none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
        return trim
    except (OSError, AttributeError):
        return None


async def trim_forever(every_s: float = TRIM_EVERY_S) -> None:
    trim = malloc_trim()
    if trim is None:
        return
    while True:
        await asyncio.sleep(every_s)
        # Walks the free lists: a fraction of a millisecond for a worker's heap (measured 0.24 ms).
        trim(0)


async def release_freed_memory(_settings: Settings, _database: Database) -> None:
    """The worker loop that runs `trim_forever`."""
    await trim_forever()
