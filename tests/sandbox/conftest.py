"""Fixtures of the sandbox tests: a pool factory that always closes what it started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sandbox.pool import SandboxPool
from sandbox.protocol import MAX_REPLY_BYTES
from scanner.core.models import SkillPackage

PLUGIN = "tests.sandbox.faulty_analyzers"

PoolFactory = Callable[..., Awaitable[SandboxPool]]


@pytest.fixture
async def make_pool() -> AsyncIterator[PoolFactory]:
    """Return a factory of started pools (size 2, test analyzers loaded), closed at teardown."""
    pools: list[SandboxPool] = []

    async def make(
        size: int = 2,
        *,
        task_timeout: float = 10.0,
        memory_limit_mb: int = 512,
        plugin_modules: tuple[str, ...] = (PLUGIN,),
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> SandboxPool:
        pool = SandboxPool(
            size,
            task_timeout=task_timeout,
            memory_limit_mb=memory_limit_mb,
            plugin_modules=plugin_modules,
            start_timeout=20.0,
            max_reply_bytes=max_reply_bytes,
        )
        pools.append(pool)
        await pool.start()
        return pool

    yield make
    for pool in pools:
        await pool.close(timeout=1.0)


@pytest.fixture
def payload() -> Callable[[str], bytes]:
    """Return a factory of packed packages named as asked."""

    def make(name: str = "demo") -> bytes:
        return SandboxPool.pack(SkillPackage(name=name, root_name=name))

    return make


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Poll `predicate` on the loop until it holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.02)
