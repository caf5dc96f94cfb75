"""One sandbox worker seen from the parent: its process, channel and exit status."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

from pydantic import ValidationError

from sandbox import protocol, worker
from sandbox.protocol import RunRequest, ShutdownRequest, TaskFailed, WorkerReady
from scanner import logs
from scanner.core.errors import SandboxUnavailableError

STREAM_LIMIT = 1024 * 1024
ABORT_JOIN_SECONDS = 1.0
WORKER_NAME = "sandbox-worker"
WARM_UP_NAME = "sandbox-warm-up"
# A sandbox process exits with this code when the main script it re-imports starts a
# sandbox itself (see `exit_if_reimporting_main`).
REIMPORTED_MAIN_EXIT = 86
REIMPORTED_MAIN_MESSAGE = (
    "the sandbox could not start: its worker processes re-run the top level of your main "
    "script, which starts a scan again; call the scanner under "
    '`if __name__ == "__main__":`'
)


class WorkerStartError(Exception):
    """A worker process could not be started or did not report ready."""


@dataclass(frozen=True)
class LaunchOptions:
    """What every worker of a pool is started with."""

    memory_limit_mb: int
    plugin_modules: tuple[str, ...]
    start_timeout: float


class WorkerHandle:
    """A started worker: call it, ask it to stop, kill it, and release its resources.

    `exited` resolves with the exit code (negative: killed by that signal) as soon
    as the fork server reports the process gone, whether it was idle or busy.
    """

    def __init__(
        self, process: BaseProcess, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.reader = reader
        self.writer = writer
        self.analyzers: tuple[str, ...] = ()
        self.retired = False
        self._loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = self._loop.create_future()
        self._sentinel = process.sentinel
        self._disposed = False
        self._loop.add_reader(self._sentinel, self._poll)

    def _poll(self) -> bool:
        """Return True while the process runs; resolve `exited` once it is gone."""
        if self.exited.done():
            return False
        code = self.process.exitcode
        if code is None:
            return True
        self._loop.remove_reader(self._sentinel)
        self.exited.set_result(code)
        return False

    def is_alive(self) -> bool:
        """Return True if the process has not exited (a cheap, non-blocking check)."""
        return not self._disposed and self._poll()

    async def call(self, request: RunRequest, payload: bytes, reply_limit: int) -> bytes:
        """Send one task and return the body of the reply frame.

        Raises:
            protocol.FrameTooLargeError: the reply is over `reply_limit`.
            EOFError: the worker closed its channel (it died).
            ConnectionError: the channel broke while sending.
        """
        protocol.write_request(self.writer, request, payload)
        await self.writer.drain()
        return await protocol.read_frame(self.reader, reply_limit)

    async def handshake(self, seconds: float) -> WorkerReady:
        """Wait for the ready message.

        Raises:
            WorkerStartError: the worker failed, died, was too slow or sent garbage.
        """
        try:
            async with asyncio.timeout(seconds):
                body = await protocol.read_frame(self.reader, protocol.MAX_REPLY_BYTES)
            reply = protocol.REPLIES.validate_json(body)
        except (TimeoutError, EOFError, OSError, protocol.FrameTooLargeError) as exc:
            raise WorkerStartError(f"worker {self.pid} did not start: {exc!r}") from exc
        except ValidationError as exc:
            raise WorkerStartError(f"worker {self.pid} sent an invalid ready message") from exc
        if isinstance(reply, TaskFailed):
            raise WorkerStartError(f"worker {self.pid} failed to start: {reply.code}")
        if not isinstance(reply, WorkerReady):
            raise WorkerStartError(f"worker {self.pid} sent {reply.status!r} before ready")
        self.analyzers = reply.analyzers
        return reply

    def request_shutdown(self) -> None:
        """Ask the worker to exit after its current task."""
        if not self.writer.is_closing():
            protocol.write_request(self.writer, ShutdownRequest())

    def kill(self) -> None:
        """SIGKILL the process if it still runs, and close the channel."""
        if self.is_alive():
            self.process.kill()
        self.writer.close()

    async def dispose(self, grace: float) -> None:
        """Wait up to `grace` seconds for the exit, then release the process and channel."""
        if not self.exited.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self.exited)
        self._release()
        # NOTE: a channel whose peer died may report the reset here; it is closed either way.
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def abort(self) -> None:
        """Kill and release synchronously (a short blocking join): for failure paths only."""
        self.kill()
        if not self.exited.done():
            self._loop.remove_reader(self._sentinel)
            self.process.join(ABORT_JOIN_SECONDS)
            code = self.process.exitcode
            if code is not None:
                self.exited.set_result(code)
        self._release()

    def _release(self) -> None:
        if self._disposed:
            return
        self.writer.close()
        if not self.exited.done():
            # NOTE: still running after SIGKILL (uninterruptible sleep): keep the process
            # object; multiprocessing reaps it later.
            return
        self._disposed = True
        self.process.join()
        self.process.close()


def describe_exit(code: int | None) -> str:
    """Return how a worker ended, e.g. `exited with code 3` or `was killed by SIGSEGV`."""
    if code is None:
        return "closed its channel"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


async def launch(context: ForkServerContext, options: LaunchOptions) -> WorkerHandle:
    """Start one worker and wait until it reports ready.

    Raises:
        WorkerStartError: the process could not start or did not report ready.
    """
    process, parent_end = _start_process(context, options)
    try:
        reader, writer = await asyncio.open_unix_connection(sock=parent_end, limit=STREAM_LIMIT)
    except BaseException as exc:
        parent_end.close()
        process.kill()
        process.join(ABORT_JOIN_SECONDS)
        if isinstance(exc, OSError):
            raise WorkerStartError(f"cannot connect to worker {process.pid}: {exc!r}") from exc
        raise
    handle = WorkerHandle(process, reader, writer)
    try:
        await handle.handshake(options.start_timeout)
    except BaseException:
        handle.abort()
        raise
    return handle


def _start_process(
    context: ForkServerContext, options: LaunchOptions
) -> tuple[BaseProcess, socket.socket]:
    # NOTE: synchronous on purpose: once the fork server runs (see `start_fork_server`),
    # start() is one fork in the server, about 2 ms here, and nothing can interrupt it.
    try:
        parent_end, child_end = socket.socketpair()
    except OSError as exc:
        raise WorkerStartError(f"cannot create a worker channel: {exc!r}") from exc
    args = (child_end, options.memory_limit_mb, options.plugin_modules, logs.current_format())
    process = context.Process(target=worker.main, args=args, name=WORKER_NAME, daemon=True)
    with child_end:
        try:
            process.start()
        except (OSError, EOFError) as exc:
            # NOTE: EOFError: the fork server died while starting this child.
            parent_end.close()
            raise WorkerStartError(f"cannot start a worker process: {exc!r}") from exc
    return process, parent_end


def start_fork_server(context: ForkServerContext) -> None:
    """Start the fork server and wait until its preloaded modules are imported.

    Blocking: run it in an executor.
    """
    process = context.Process(target=worker.noop, name=WARM_UP_NAME, daemon=True)
    process.start()
    process.join()
    code = process.exitcode
    process.close()
    if code == REIMPORTED_MAIN_EXIT:
        raise SandboxUnavailableError(REIMPORTED_MAIN_MESSAGE)


def exit_if_reimporting_main() -> None:
    """End this process if it is a sandbox process that was about to start a sandbox.

    Multiprocessing runs the parent's main script again in every child it starts (as
    `__mp_main__`), so a script that scans at its top level, outside
    `if __name__ == "__main__":`, would start a pool from each worker. The worker then
    leaves quietly with `REIMPORTED_MAIN_EXIT`, which the parent reports in one line.
    """
    if multiprocessing.current_process().name in (WORKER_NAME, WARM_UP_NAME):
        os._exit(REIMPORTED_MAIN_EXIT)
