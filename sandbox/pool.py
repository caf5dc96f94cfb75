"""A supervised, asyncio-native pool of sandbox worker processes.

Each worker is a fork-server child that has built every registered analyzer
once (see `sandbox.worker`). `SandboxPool.run` hands one analyzer and one packed
package to an idle worker and awaits its JSON reply on a socket, so the event
loop never blocks on a worker. Faults stay with the task that met them:

- a task over its timeout, or whose caller is cancelled: the worker is killed
  and replaced (`AnalyzerTimeoutError`, or the `CancelledError` propagates);
- a worker that dies (segfault, `os._exit`, SIGKILL, out of memory): it is
  reaped and replaced (`WorkerCrashedError`); an idle one as soon as it dies;
- an analyzer that raises: the worker survives (`AnalyzerFailedError`, code
  `analyzer_error`); after a `MemoryError` it exits and is replaced
  (code `out_of_memory`);
- a reply over the size cap or off-schema: the worker is killed and replaced
  (codes `reply_too_large`, `protocol_error`).

Limitations: a task waits for a free worker without a deadline (callers bound
the whole scan); when the fork server itself was killed, the next spawn restarts
it synchronously, which stalls the loop while it imports its preloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import pickle
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox import forkserver, protocol
from sandbox._process import (
    LaunchOptions,
    WorkerHandle,
    WorkerStartError,
    describe_exit,
    exit_if_reimporting_main,
    launch,
    start_fork_server,
)
from sandbox.protocol import RunRequest, TaskFailed, TaskSucceeded
from scanner.core.errors import SandboxUnavailableError, UnknownAnalyzerError
from scanner.core.models import Finding, SkillPackage

logger = logging.getLogger(__name__)

EXIT_GRACE_SECONDS = 1.0
KILL_GRACE_SECONDS = 5.0
RESPAWN_DELAY_SECONDS = 0.1
RESPAWN_DELAY_MAX_SECONDS = 30.0


class SandboxTaskError(Exception):
    """One analyzer task failed in the sandbox; the pool and other tasks carry on.

    Attributes:
        code: why, e.g. `timeout`, `crashed`, `analyzer_error`, `out_of_memory`.
    """

    code: str = "sandbox_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AnalyzerTimeoutError(SandboxTaskError):
    """The task ran past its timeout; its worker was killed and replaced."""

    code = "timeout"


class WorkerCrashedError(SandboxTaskError):
    """The worker died during the task; it was reaped and replaced."""

    code = "crashed"


class AnalyzerFailedError(SandboxTaskError):
    """The worker reported a failure, or sent a reply the pool refuses."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


class PoolStats(BaseModel):
    """A cheap snapshot of the pool, for /health."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int = Field(description="Workers the pool keeps running.")
    workers_alive: int = Field(description="Workers started, ready and not retired.")
    tasks_running: int = Field(description="Tasks a worker is running now.")
    tasks_queued: int = Field(description="Tasks waiting for a free worker.")
    restarts: int = Field(description="Workers retired (and replaced) since the start.")


class _State(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


_OPEN = frozenset({_State.STARTING, _State.RUNNING})


class SandboxPool:
    """Run analyzers in supervised worker processes with timeouts and resource limits."""

    def __init__(
        self,
        size: int,
        *,
        task_timeout: float,
        memory_limit_mb: int,
        plugin_modules: Sequence[str] = (),
        start_timeout: float = 60.0,
        max_reply_bytes: int = protocol.MAX_REPLY_BYTES,
    ) -> None:
        if size < 1:
            raise ValueError("a sandbox pool needs at least one worker")
        self._size = size
        self._task_timeout = task_timeout
        self._max_reply_bytes = max_reply_bytes
        self._options = LaunchOptions(memory_limit_mb, tuple(plugin_modules), start_timeout)
        self._context = forkserver.context()
        self._state = _State.NEW
        self._closed = asyncio.Event()
        self._workers: set[WorkerHandle] = set()
        self._idle: deque[WorkerHandle] = deque()
        self._waiters: deque[asyncio.Future[WorkerHandle]] = deque()
        self._supervisors: set[asyncio.Task[None]] = set()
        self._warm_up: asyncio.Future[None] | None = None
        self._analyzers: tuple[str, ...] = ()
        self._task_ids = itertools.count(1)
        self._running = 0
        self._restarts = 0

    @staticmethod
    def pack(package: SkillPackage) -> bytes:
        """Serialize a package once per scan, for every `run` of that scan."""
        return pickle.dumps(package, protocol=pickle.HIGHEST_PROTOCOL)

    @property
    def analyzers(self) -> tuple[str, ...]:
        """Return the analyzer names the workers reported, once started."""
        return self._analyzers

    def worker_pids(self) -> list[int]:
        """Return the process ids of the live workers (for operators and fault tests)."""
        return [h.pid for h in self._workers if not h.retired and h.pid is not None]

    def stats(self) -> PoolStats:
        """Return the pool's size, live workers, running and queued tasks, and restarts."""
        return PoolStats(
            size=self._size,
            workers_alive=sum(1 for handle in self._workers if not handle.retired),
            tasks_running=self._running,
            tasks_queued=sum(1 for waiter in self._waiters if not waiter.done()),
            restarts=self._restarts,
        )

    async def start(self) -> None:
        """Start every worker and wait until each has built its analyzers.

        Raises:
            SandboxUnavailableError: a worker could not start; nothing is left running.
        """
        if self._state is not _State.NEW:
            raise RuntimeError("a sandbox pool is started only once")
        exit_if_reimporting_main()
        self._state = _State.STARTING
        try:
            await self._start_workers()
        except BaseException:
            # NOTE: also on cancellation, so that no worker outlives a failed start.
            await self.close()
            raise
        self._state = _State.RUNNING
        logger.info("sandbox pool started", extra={"size": self._size})

    async def _start_workers(self) -> None:
        loop = asyncio.get_running_loop()
        self._warm_up = loop.run_in_executor(None, start_fork_server, self._context)
        # NOTE: shielded: the thread cannot be stopped, so close() waits for it instead.
        await asyncio.shield(self._warm_up)
        launches = (self._add_worker() for _ in range(self._size))
        results = await asyncio.gather(*launches, return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            raise SandboxUnavailableError("the analysis sandbox could not start") from errors[0]
        if self._state is not _State.STARTING:
            raise SandboxUnavailableError("the analysis sandbox was closed while starting")

    async def run(
        self,
        analyzer: str,
        payload: bytes,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline of the worker, not of the await
    ) -> list[Finding]:
        """Run one analyzer on a packed package in an idle worker, waiting for one if needed.

        Args:
            analyzer: a registered analyzer name.
            payload: `SandboxPool.pack(package)`.
            timeout: seconds for this task; the pool's `task_timeout` when None.

        Raises:
            SandboxTaskError: this task failed (see the subclasses); the pool carries on.
            SandboxUnavailableError: the pool is not running or closed meanwhile.
            UnknownAnalyzerError: no worker has an analyzer of that name.
        """
        self._check_open(analyzer)
        handle = await self._acquire()
        self._running += 1
        try:
            reply = await self._exchange(handle, analyzer, payload, timeout)
        except BaseException as exc:
            # NOTE: timeout, crash, bad reply or cancellation: the worker is mid-task or broken.
            code = exc.code if isinstance(exc, SandboxTaskError) else "cancelled"
            self._retire(handle, analyzer=analyzer, code=code)
            raise
        finally:
            self._running -= 1
        return self._settle(handle, analyzer, reply)

    def _check_open(self, analyzer: str) -> None:
        if self._state is not _State.RUNNING:
            raise SandboxUnavailableError("the analysis sandbox is not running")
        if analyzer not in self._analyzers:
            raise UnknownAnalyzerError(f"no sandboxed analyzer named {analyzer!r}")

    async def _exchange(
        self, handle: WorkerHandle, analyzer: str, payload: bytes, deadline: float | None
    ) -> TaskSucceeded | TaskFailed:
        seconds = self._task_timeout if deadline is None else deadline
        task_id = next(self._task_ids)
        try:
            async with asyncio.timeout(seconds):
                body = await handle.call(
                    RunRequest(task_id, analyzer), payload, self._max_reply_bytes
                )
        except TimeoutError:
            raise AnalyzerTimeoutError(
                f"analyzer {analyzer!r} timed out after {seconds:g} s"
            ) from None
        except protocol.FrameTooLargeError:
            message = f"analyzer {analyzer!r} sent a reply over {self._max_reply_bytes} bytes"
            raise AnalyzerFailedError(message, code="reply_too_large") from None
        except (EOFError, ConnectionError):
            raise await self._crash_error(handle, analyzer) from None
        return _parse_reply(body, task_id, analyzer)

    async def _crash_error(self, handle: WorkerHandle, analyzer: str) -> Exception:
        if self._state not in _OPEN:
            return SandboxUnavailableError("the analysis sandbox closed during the task")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_GRACE_SECONDS):
                await asyncio.shield(handle.exited)
        code = handle.exited.result() if handle.exited.done() else None
        return WorkerCrashedError(f"the worker running {analyzer!r} {describe_exit(code)}")

    def _settle(
        self, handle: WorkerHandle, analyzer: str, reply: TaskSucceeded | TaskFailed
    ) -> list[Finding]:
        if isinstance(reply, TaskSucceeded):
            self._release(handle)
            return reply.findings
        if reply.code in protocol.FATAL_CODES:
            self._retire(handle, analyzer=analyzer, code=reply.code)
        else:
            self._release(handle)
        raise AnalyzerFailedError(f"analyzer {analyzer!r} failed: {reply.message}", code=reply.code)

    async def _acquire(self) -> WorkerHandle:
        """Return a live idle worker, waiting in FIFO order for one to be free."""
        while True:
            handle = await self._next_worker()
            if handle.is_alive():
                return handle
            self._retire(handle, analyzer=None, code="died_idle")

    async def _next_worker(self) -> WorkerHandle:
        if self._idle and not self._waiters:
            return self._idle.popleft()
        waiter: asyncio.Future[WorkerHandle] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _release(self, handle: WorkerHandle) -> None:
        """Give a healthy worker to the longest waiter, or put it back in the idle queue."""
        if self._state not in _OPEN or handle.retired:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(handle)
                return
        self._idle.append(handle)

    def _retire(self, handle: WorkerHandle, *, analyzer: str | None, code: str) -> None:
        """Take a worker out of service: kill it now, reap and replace it in the background."""
        if handle.retired:
            return
        handle.retired = True
        with contextlib.suppress(ValueError):
            self._idle.remove(handle)
        handle.kill()
        if self._state not in _OPEN:
            return
        self._restarts += 1
        extra = {"analyzer": analyzer, "code": code, "pid": handle.pid}
        logger.warning("sandbox worker retired", extra=extra)
        self._supervise(self._replace(handle, extra))

    def _on_exit(self, handle: WorkerHandle, _exited: asyncio.Future[int]) -> None:
        # NOTE: a busy worker's death is seen by its task (EOF); nobody reads an idle one.
        if handle in self._idle:
            self._retire(handle, analyzer=None, code="died_idle")

    async def _replace(self, old: WorkerHandle, extra: dict[str, Any]) -> None:
        await old.dispose(KILL_GRACE_SECONDS)
        self._workers.discard(old)
        delay = RESPAWN_DELAY_SECONDS
        while self._state in _OPEN:
            try:
                await self._add_worker()
            except WorkerStartError:
                logger.warning("sandbox worker respawn failed", extra={**extra, "retry_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESPAWN_DELAY_MAX_SECONDS)
                continue
            logger.warning("sandbox worker respawned", extra=extra)
            return

    async def _add_worker(self) -> None:
        handle = await launch(self._context, self._options)
        if self._state not in _OPEN:
            handle.abort()
            return
        self._workers.add(handle)
        self._analyzers = self._analyzers or handle.analyzers
        handle.exited.add_done_callback(lambda exited: self._on_exit(handle, exited))
        self._release(handle)

    def _supervise(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._supervisors.add(task)
        task.add_done_callback(self._supervisor_done)

    def _supervisor_done(self, task: asyncio.Task[None]) -> None:
        self._supervisors.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("sandbox supervisor failed", exc_info=task.exception())

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a grace period
        """Stop taking work, let workers finish for up to `timeout`, then kill the rest.

        Pending and later `run` calls raise `SandboxUnavailableError`. Every worker
        process is reaped before this returns; calling it again does nothing.
        """
        if self._state is _State.CLOSED:
            return
        if self._state is _State.CLOSING:
            await self._closed.wait()
            return
        self._state = _State.CLOSING
        try:
            self._fail_waiters()
            if self._warm_up is not None:
                await asyncio.wait([self._warm_up])
            await self._stop_supervisors()
            await self._stop_workers(timeout)
        finally:
            self._state = _State.CLOSED
            self._closed.set()
        logger.info("sandbox pool closed", extra={"restarts": self._restarts})

    def _fail_waiters(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(SandboxUnavailableError("the analysis sandbox is closing"))
        self._idle.clear()

    async def _stop_supervisors(self) -> None:
        tasks = list(self._supervisors)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _stop_workers(self, grace: float) -> None:
        handles = list(self._workers)
        for handle in handles:
            handle.request_shutdown()
        running = [handle.exited for handle in handles if not handle.exited.done()]
        try:
            if running:
                await asyncio.wait(running, timeout=grace)
        finally:
            for handle in handles:
                handle.kill()
        await asyncio.gather(*(handle.dispose(KILL_GRACE_SECONDS) for handle in handles))
        self._workers.clear()


def _parse_reply(body: bytes, task_id: int, analyzer: str) -> TaskSucceeded | TaskFailed:
    """Validate a worker's JSON reply to task `task_id`.

    Raises:
        AnalyzerFailedError: code `protocol_error`; the reply is off-schema or stale.
    """
    message = f"analyzer {analyzer!r} sent an invalid reply"
    try:
        reply = protocol.REPLIES.validate_json(body)
    except ValidationError:
        raise AnalyzerFailedError(message, code="protocol_error") from None
    if not isinstance(reply, TaskSucceeded | TaskFailed) or reply.task_id != task_id:
        raise AnalyzerFailedError(message, code="protocol_error")
    return reply
