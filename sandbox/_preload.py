"""Imported by the fork server only: build every built-in analyzer once, before any fork.

Workers are forked from the fork server, so they start with the compiled rules
already in memory (shared copy-on-write) instead of each compiling them again:
a worker is ready in milliseconds, which keeps the start of the server and of
the CLI short and makes replacing a crashed worker cheap. Plugin analyzers are
still built in each worker, after its plugins are imported.
"""

from __future__ import annotations

import logging

from scanner.analyzers import registry

logger = logging.getLogger(__name__)


def build_builtin_analyzers() -> None:
    """Build one instance of each registered analyzer in this process."""
    try:
        for name in registry.names():
            registry.instance(name)
    except Exception:
        # NOTE: the fork server would die on anything but ImportError here; each worker
        # builds what is missing and reports its own start failure to the pool instead.
        logger.exception("analyzers not prebuilt in the fork server")


build_builtin_analyzers()
