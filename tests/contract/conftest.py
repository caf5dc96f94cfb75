"""Fixtures for contract tests: a real server on a loopback port, and an HTTP session."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from aiohttp import web

from scanner.server.app import create_app
from scanner.settings import Settings

SKILL_MD = "---\nname: contract\ndescription: A small skill for contract tests.\n---\n\n# Hi\n"
SCRIPT = "#!/bin/sh\necho hello\n"
T = TypeVar("T")


class ServerThread:
    """Serve an app from a background thread that owns its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.base_url = ""

    def start(self) -> str:
        self.thread.start()
        self.base_url = self._run(self._start())
        return self.base_url

    async def _start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        try:
            self._run(self.runner.cleanup())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


@pytest.fixture(scope="module")
def allowed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the only folder the server may read: it holds one small real skill."""
    root = tmp_path_factory.mktemp("allowed")
    skill = root / "skill"
    (skill / "scripts").mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL_MD)
    (skill / "scripts" / "run.sh").write_text(SCRIPT)
    return root


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, allowed_root: Path) -> Iterator[str]:
    """Return the URL of a started server confined to `allowed_root`."""
    settings = Settings(
        pool_size=1,
        analyzer_timeout_seconds=20.0,
        allowed_roots=(allowed_root,),
        temp_dir=tmp_path_factory.mktemp("server-tmp"),
        max_upload_bytes=1024 * 1024,
    )
    server = ServerThread(create_app(settings))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """Return one HTTP session for every generated request, closed at the end."""
    with requests.Session() as http:
        yield http
