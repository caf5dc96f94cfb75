"""Scan skills from other Python code, with or without a running event loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from scanner.core.models import ScanResult
from scanner.core.scan import ScanOptions
from scanner.engine import Engine
from scanner.settings import Settings


async def scan_path(
    path: str | os.PathLike[str],
    options: ScanOptions | None = None,
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
) -> ScanResult:
    """Scan one skill folder.

    Pass a started `Engine` to reuse its sandbox across many scans; without one,
    a sandbox is started for this call and stopped after it.
    """
    options = options or ScanOptions()
    root = Path(await asyncio.to_thread(os.path.realpath, path))
    if engine is not None:
        return await engine.scan_directory(root, options, label=str(path))
    async with Engine(settings or Settings()) as own:
        return await own.scan_directory(root, options, label=str(path))


def scan_path_sync(
    path: str | os.PathLike[str],
    options: ScanOptions | None = None,
    *,
    settings: Settings | None = None,
) -> ScanResult:
    """Scan one skill folder from synchronous code."""
    return asyncio.run(scan_path(path, options, settings=settings))
