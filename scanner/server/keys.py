"""Typed keys of the objects an application holds."""

from __future__ import annotations

from aiohttp import web

from scanner.batch.runner import BatchRunner
from scanner.batch.store import MemoryJobStore
from scanner.engine import Engine
from scanner.settings import Settings

SETTINGS_KEY = web.AppKey("settings", Settings)
ENGINE_KEY = web.AppKey("engine", Engine)
STORE_KEY = web.AppKey("job_store", MemoryJobStore)
BATCH_KEY = web.AppKey("batch_runner", BatchRunner)
