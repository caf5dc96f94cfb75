from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.context import ForkServerContext

import pytest

from sandbox import pool as pool_module
from sandbox._process import LaunchOptions, WorkerHandle, WorkerStartError, launch
from sandbox.pool import (
    AnalyzerFailedError,
    AnalyzerTimeoutError,
    PoolStats,
    SandboxPool,
    SandboxTaskError,
    WorkerCrashedError,
)
from sandbox.worker import WORKER_NICENESS
from scanner.core.errors import SandboxUnavailableError, UnknownAnalyzerError
from tests.sandbox.conftest import PLUGIN, PoolFactory, wait_until

Payload = Callable[..., bytes]


def worker_pids() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def echo_pid(pool: SandboxPool, payload: Payload) -> int:
    [finding] = await pool.run("test-echo", payload())
    pid = finding.metadata["pid"]
    assert isinstance(pid, int)
    return pid


def kill_and_wait(pid: int) -> None:
    """SIGKILL a worker and block (not yielding to the loop) until it is reaped."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def is_whole(pool: SandboxPool) -> bool:
    return pool.stats().workers_alive == pool.stats().size


async def test_echo_round_trip_returns_the_package_name(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool()

    findings = await pool.run("test-echo", payload("round-trip"))

    assert [f.snippet for f in findings] == ["round-trip"]
    assert findings[0].analyzer == "test-echo"
    assert pool.stats() == PoolStats(
        size=2, workers_alive=2, tasks_running=0, tasks_queued=0, restarts=0
    )
    assert "test-crash" in pool.analyzers


async def test_worker_limits_are_applied(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(memory_limit_mb=300)

    [finding] = await pool.run("test-probe", payload())

    assert finding.metadata["data"] == 300 * 1024 * 1024
    assert finding.metadata["fsize"] == 0
    assert finding.metadata["core"] == 0
    assert finding.metadata["sigint_ignored"] is True
    assert finding.metadata["stdin_is_devnull"] is True
    assert finding.metadata["write_error"] == "OSError:27"
    # Analysis yields the CPU to the server's event loop.
    assert finding.metadata["niceness"] == os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS


async def test_crash_raises_crashed_and_the_pool_recovers(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool()

    with pytest.raises(WorkerCrashedError, match="exited with code 3") as caught:
        await pool.run("test-crash", payload())

    assert caught.value.code == "crashed"
    assert [f.snippet for f in await pool.run("test-echo", payload("after"))] == ["after"]
    await wait_until(lambda: is_whole(pool))
    assert pool.stats().restarts == 1
    assert len(worker_pids()) == 2


async def test_segfault_names_the_signal(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool()

    with pytest.raises(WorkerCrashedError, match="SIGSEGV"):
        await pool.run("test-segv", payload())

    await wait_until(lambda: is_whole(pool))
    assert await pool.run("test-echo", payload())


async def test_hang_times_out_and_the_worker_is_replaced(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(task_timeout=0.5)
    before = worker_pids()

    with pytest.raises(AnalyzerTimeoutError, match=r"timed out after 0\.5 s") as caught:
        await pool.run("test-hang", payload())

    assert caught.value.code == "timeout"
    await wait_until(lambda: is_whole(pool))
    after = worker_pids()
    assert len(before - after) == 1
    assert len(after) == 2
    assert pool.stats().restarts == 1
    assert await pool.run("test-echo", payload())


async def test_per_task_timeout_overrides_the_default(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(task_timeout=30.0)

    with pytest.raises(AnalyzerTimeoutError, match=r"0\.3 s"):
        await pool.run("test-hang", payload(), timeout=0.3)


async def test_unbounded_allocation_fails_only_that_task(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(memory_limit_mb=256)

    with pytest.raises((AnalyzerFailedError, WorkerCrashedError)) as caught:
        await pool.run("test-alloc", payload())

    assert caught.value.code in {"out_of_memory", "crashed"}
    assert [f.snippet for f in await pool.run("test-echo", payload("next"))] == ["next"]
    await wait_until(lambda: is_whole(pool))
    assert pool.stats().restarts == 1


async def test_raise_reports_the_class_name_only(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(size=1)
    pid = await echo_pid(pool, payload)

    with pytest.raises(AnalyzerFailedError) as caught:
        await pool.run("test-raise", payload())

    assert caught.value.code == "analyzer_error"
    assert "ValueError" in str(caught.value)
    assert "hostile" not in str(caught.value)
    assert await echo_pid(pool, payload) == pid
    assert pool.stats().restarts == 0


async def test_reply_over_the_cap_is_refused(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(size=1, max_reply_bytes=1024 * 1024)

    with pytest.raises(AnalyzerFailedError) as caught:
        await pool.run("test-big", payload())

    assert caught.value.code == "reply_too_large"
    assert [f.snippet for f in await pool.run("test-echo", payload("small"))] == ["small"]
    assert pool.stats().restarts == 1


async def test_other_tasks_complete_while_one_hangs(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(task_timeout=2.0)
    hang = asyncio.create_task(pool.run("test-hang", payload()))
    await wait_until(lambda: pool.stats().tasks_running == 1)

    echoes = await asyncio.gather(*(pool.run("test-echo", payload(f"s{i}")) for i in range(6)))

    assert [f.snippet for [f] in echoes] == [f"s{i}" for i in range(6)]
    assert not hang.done()
    with pytest.raises(AnalyzerTimeoutError):
        await hang


async def test_tasks_queue_when_every_worker_is_busy(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(size=1, task_timeout=0.5)
    hang = asyncio.create_task(pool.run("test-hang", payload()))
    await wait_until(lambda: pool.stats().tasks_running == 1)

    queued = [asyncio.create_task(pool.run("test-echo", payload(f"q{i}"))) for i in range(3)]
    await wait_until(lambda: pool.stats().tasks_queued == 3)

    with pytest.raises(AnalyzerTimeoutError):
        await hang
    results = await asyncio.gather(*queued)
    assert [f.snippet for [f] in results] == ["q0", "q1", "q2"]
    assert pool.stats().tasks_queued == 0


async def test_cancelled_run_kills_and_replaces_its_worker(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(task_timeout=30.0)
    before = worker_pids()
    task = asyncio.create_task(pool.run("test-hang", payload()))
    await wait_until(lambda: pool.stats().tasks_running == 1)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.stats().restarts == 1
    assert pool.stats().tasks_running == 0
    await wait_until(lambda: is_whole(pool))
    gone = before - worker_pids()
    assert len(gone) == 1
    assert not pid_exists(gone.pop())


async def test_cancelled_waiter_leaves_the_queue(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(size=1, task_timeout=0.5)
    hang = asyncio.create_task(pool.run("test-hang", payload()))
    await wait_until(lambda: pool.stats().tasks_running == 1)
    waiting = asyncio.create_task(pool.run("test-echo", payload()))
    await wait_until(lambda: pool.stats().tasks_queued == 1)

    waiting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pool.stats().tasks_queued == 0
    with pytest.raises(AnalyzerTimeoutError):
        await hang
    assert await pool.run("test-echo", payload())


async def test_idle_worker_killed_from_outside_is_replaced(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool()
    victim = next(iter(worker_pids()))

    os.kill(victim, signal.SIGKILL)

    await wait_until(lambda: pool.stats().restarts == 1 and is_whole(pool))
    assert victim not in worker_pids()
    assert len(worker_pids()) == 2
    results = await asyncio.gather(*(pool.run("test-echo", payload()) for _ in range(4)))
    assert all(len(r) == 1 for r in results)


async def test_busy_worker_killed_from_outside_fails_its_task(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(size=1, task_timeout=30.0)
    task = asyncio.create_task(pool.run("test-hang", payload()))
    await wait_until(lambda: pool.stats().tasks_running == 1)

    os.kill(next(iter(worker_pids())), signal.SIGKILL)

    with pytest.raises(WorkerCrashedError, match="SIGKILL"):
        await task
    assert await pool.run("test-echo", payload())


async def test_faults_are_logged_as_warnings(
    make_pool: PoolFactory, payload: Payload, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await make_pool(task_timeout=0.3)
    caplog.set_level(logging.WARNING, logger="sandbox.pool")

    with pytest.raises(AnalyzerTimeoutError):
        await pool.run("test-hang", payload("secret-name"))
    await wait_until(lambda: is_whole(pool))

    retired = [r for r in caplog.records if r.getMessage() == "sandbox worker retired"]
    fields = [(getattr(r, "analyzer", None), getattr(r, "code", None)) for r in retired]
    assert fields == [("test-hang", "timeout")]
    assert any(r.getMessage() == "sandbox worker respawned" for r in caplog.records)
    assert "secret-name" not in caplog.text


async def test_unknown_analyzer_is_refused(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(size=1)

    with pytest.raises(UnknownAnalyzerError):
        await pool.run("no-such-analyzer", payload())


async def test_close_reaps_every_worker(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool()
    await pool.run("test-echo", payload())
    pids = worker_pids()
    assert len(pids) == 2

    await pool.close()

    assert multiprocessing.active_children() == []
    assert not any(pid_exists(pid) for pid in pids)
    assert pool.stats().workers_alive == 0
    with pytest.raises(SandboxUnavailableError):
        await pool.run("test-echo", payload())
    await pool.close()


async def test_close_fails_pending_and_running_tasks(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(task_timeout=30.0)
    hangs = [asyncio.create_task(pool.run("test-hang", payload())) for _ in range(2)]
    await wait_until(lambda: pool.stats().tasks_running == 2)
    queued = asyncio.create_task(pool.run("test-echo", payload()))
    await wait_until(lambda: pool.stats().tasks_queued == 1)

    await pool.close(timeout=0.3)

    results = await asyncio.gather(*hangs, queued, return_exceptions=True)
    assert all(isinstance(r, SandboxUnavailableError) for r in results), results
    assert multiprocessing.active_children() == []


async def test_close_lets_a_running_task_finish_within_the_grace(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(size=1)
    task = asyncio.create_task(pool.run("test-echo", payload("last")))
    await asyncio.sleep(0)

    await pool.close(timeout=5.0)

    assert [f.snippet for f in await task] == ["last"]
    assert multiprocessing.active_children() == []


async def test_concurrent_close_calls_both_return(make_pool: PoolFactory) -> None:
    pool = await make_pool()

    await asyncio.gather(pool.close(), pool.close())

    assert multiprocessing.active_children() == []


async def test_start_failure_leaves_nothing_running(make_pool: PoolFactory) -> None:
    with pytest.raises(SandboxUnavailableError):
        await make_pool(plugin_modules=("tests.sandbox.no_such_module",))

    assert multiprocessing.active_children() == []


async def test_run_before_start_is_refused(payload: Payload) -> None:
    pool = SandboxPool(1, task_timeout=1.0, memory_limit_mb=256)

    with pytest.raises(SandboxUnavailableError):
        await pool.run("test-echo", payload())
    await pool.close()


def test_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SandboxPool(0, task_timeout=1.0, memory_limit_mb=256)


def test_task_errors_share_a_base_with_a_code() -> None:
    errors = [
        AnalyzerTimeoutError("t"),
        WorkerCrashedError("c"),
        AnalyzerFailedError("f", code="out_of_memory"),
    ]

    assert [e.code for e in errors] == ["timeout", "crashed", "out_of_memory"]
    assert all(isinstance(e, SandboxTaskError) for e in errors)


async def test_worker_found_dead_when_picked_is_replaced(
    make_pool: PoolFactory, payload: Payload
) -> None:
    pool = await make_pool(size=1)
    pid = await echo_pid(pool, payload)
    kill_and_wait(pid)

    new_pid = await echo_pid(pool, payload)

    assert new_pid != pid
    assert pool.stats().restarts == 1


async def test_forged_reply_is_a_protocol_error(make_pool: PoolFactory, payload: Payload) -> None:
    pool = await make_pool(size=1)

    with pytest.raises(AnalyzerFailedError) as caught:
        await pool.run("test-forge", payload())

    assert caught.value.code == "protocol_error"
    assert pool.stats().restarts == 1
    assert [f.snippet for f in await pool.run("test-echo", payload("clean"))] == ["clean"]


@pytest.mark.parametrize("body", [b"not json", b'{"status": "ready", "analyzers": []}'])
def test_off_schema_reply_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(AnalyzerFailedError) as caught:
        pool_module._parse_reply(body, 1, "x")

    assert caught.value.code == "protocol_error"


async def test_failed_respawn_is_retried(
    make_pool: PoolFactory, payload: Payload, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = await make_pool(size=1)
    calls = 0

    async def flaky_launch(context: ForkServerContext, options: LaunchOptions) -> WorkerHandle:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise WorkerStartError("injected")
        return await launch(context, options)

    monkeypatch.setattr(pool_module, "launch", flaky_launch)

    with pytest.raises(WorkerCrashedError):
        await pool.run("test-crash", payload())

    assert [f.snippet for f in await pool.run("test-echo", payload("back"))] == ["back"]
    assert calls == 2


async def test_start_twice_is_an_error(make_pool: PoolFactory) -> None:
    pool = await make_pool(size=1)

    with pytest.raises(RuntimeError, match="only once"):
        await pool.start()


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["during-warm-up", "during-handshake"])
async def test_cancelled_start_leaves_nothing_running(delay: float) -> None:
    plugins = [PLUGIN, "tests.sandbox.slow_plugin"]
    pool = SandboxPool(2, task_timeout=1.0, memory_limit_mb=256, plugin_modules=plugins)
    starting = asyncio.create_task(pool.start())
    await asyncio.sleep(delay)

    starting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await starting
    assert multiprocessing.active_children() == []
    assert pool.stats().workers_alive == 0
