"""The fork server that every sandbox worker is forked from, and its early start.

The fork server is a fresh interpreter that imports `PRELOAD` (the analyzers,
built once with their compiled rules) and then forks one child per worker.
This module imports nothing heavy, so a command line can call `prestart` first
thing and let the fork server load while the parent imports the rest.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = ("scanner.analyzers", "sandbox.worker", "sandbox._preload")


def context() -> ForkServerContext:
    """Return the fork server context with this package's preloads set."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def prestart() -> None:
    """Start the fork server now without waiting for its preloads to finish."""
    context()
    forkserver.ensure_running()
