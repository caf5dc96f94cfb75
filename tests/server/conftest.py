"""Fixtures for API tests: a client factory over a real app and sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from scanner.server.app import create_app
from scanner.settings import Settings

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture
def make_client(aiohttp_client, settings_factory) -> ClientFactory:
    """Return a factory: settings overrides -> a test client of a started app."""

    async def make(**overrides: object) -> TestClient:  # type: ignore[type-arg]
        settings: Settings = settings_factory(**overrides)
        return await aiohttp_client(create_app(settings))

    return make


@pytest.fixture
async def client(make_client) -> TestClient:  # type: ignore[type-arg]
    """Return a client of an app with default test settings."""
    return await make_client()


def leftover_temp(settings_dir: Path) -> list[Path]:
    """Return whatever a request left in the server's temp folder."""
    return sorted(settings_dir.iterdir()) if settings_dir.exists() else []
