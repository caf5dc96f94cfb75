"""Security scanner for AI agent skill packages.

`scan_path` and `scan_path_sync` scan a folder; `Engine` keeps a sandbox
running across many scans; `create_app` and `run_server` give the HTTP API.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "scan_path": "scanner.library",
    "scan_path_sync": "scanner.library",
    "Engine": "scanner.engine",
    "ScanOptions": "scanner.core.scan",
    "Settings": "scanner.settings",
    "create_app": "scanner.server.app",
    "run_server": "scanner.server.app",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import public names on first use, so `import scanner` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scanner' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
