"""Entry point of a sandbox worker process.

A worker is started by `SandboxPool` through the multiprocessing fork server.
It limits itself (data segment size, no file writes, no core dumps, no stdin,
SIGINT ignored), imports the analyzers and builds each one once, says it is
ready, then serves one task at a time on its socket until the parent asks it
to stop or goes away. See `sandbox.protocol` for the frames.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import resource
import signal
import socket
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox import protocol
from sandbox.protocol import RunRequest, TaskFailed, TaskSucceeded, WorkerReady
from scanner import logs
from scanner._heap import return_large_buffers
from scanner.analyzers import registry
from scanner.analyzers.base import Analyzer
from scanner.core.models import Finding, SkillPackage

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


# How much lower than the server a worker's CPU priority is (see `isolate`).
WORKER_NICENESS = 5


def main(
    channel: socket.socket,
    memory_limit_mb: int,
    plugin_modules: Sequence[str],
    log_setup: tuple[bool, int] | None = None,
) -> None:
    """Limit this process, then run the worker until told to stop.

    Args:
        channel: the worker's end of its socket pair.
        memory_limit_mb: the data segment limit.
        plugin_modules: modules that register extra analyzers.
        log_setup: the parent's log format and level (`scanner.logs.current_format`).
    """
    if log_setup is not None:
        json_lines, level = log_setup
        logs.configure(json_lines=json_lines, level=level)
    isolate(memory_limit_mb)
    run(channel, plugin_modules)


def noop() -> None:
    """Do nothing; started once so that the fork server has imported its preloads."""


def isolate(memory_limit_mb: int) -> None:
    """Apply the resource limits and signal dispositions of a worker."""
    # NOTE: Ctrl-C reaches the whole process group; the parent alone handles shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # NOTE: with SIGXFSZ ignored, a write over RLIMIT_FSIZE fails with EFBIG, not a kill.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # NOTE: RLIMIT_DATA, not RLIMIT_AS: wasm rule engines reserve huge address ranges.
    _set_limit(resource.RLIMIT_DATA, memory_limit_mb * MIB)
    _set_limit(resource.RLIMIT_FSIZE, 0)
    _set_limit(resource.RLIMIT_CORE, 0)
    # NOTE: analysis is batch work; the server's event loop (uploads, /health) runs first
    # when the cores are busy. A lower priority cannot be raised back without privileges.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    return_large_buffers()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _set_limit(kind: int, value: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def run(channel: socket.socket, plugin_modules: Sequence[str]) -> None:
    """Build the analyzers, report ready (or the start failure), then serve tasks."""
    with channel:
        channel.setblocking(True)
        try:
            analyzers = load_analyzers(plugin_modules)
        except Exception as exc:
            logger.exception("sandbox worker start failed", extra={"code": "start_failed"})
            failure = TaskFailed(task_id=0, code="start_failed", message=type(exc).__name__)
            protocol.send_frame(channel, protocol.encode_reply(failure))
            return
        ready = WorkerReady(analyzers=tuple(analyzers))
        protocol.send_frame(channel, protocol.encode_reply(ready))
        serve(channel, analyzers)


def load_analyzers(plugin_modules: Sequence[str]) -> dict[str, Analyzer]:
    """Import the analyzers and plugins, and build one instance of each."""
    importlib.import_module("scanner.analyzers")
    for module in plugin_modules:
        importlib.import_module(module)
    return {name: registry.instance(name) for name in registry.names()}


def serve(channel: socket.socket, analyzers: Mapping[str, Analyzer]) -> None:
    """Answer tasks one at a time until a shutdown request, EOF or a fatal failure."""
    try:
        while True:
            request = pickle.loads(protocol.recv_frame(channel))  # noqa: S301 - the parent is trusted
            if not isinstance(request, RunRequest):
                return
            payload = protocol.recv_frame(channel)
            reply, fatal = execute(analyzers, request, payload)
            del payload
            protocol.send_frame(channel, reply)
            if fatal:
                return
    except (EOFError, ConnectionError):
        logger.debug("sandbox channel closed by the parent")


def execute(
    analyzers: Mapping[str, Analyzer], request: RunRequest, payload: bytes | bytearray
) -> tuple[bytes, bool]:
    """Run one task; return the encoded reply and whether this worker must now exit."""
    outcome = _attempt(analyzers, request, payload)
    if isinstance(outcome, bytes):
        return outcome, False
    code, message = outcome
    failure = TaskFailed(task_id=request.task_id, code=code, message=message)
    return protocol.encode_reply(failure), code in protocol.FATAL_CODES


def _attempt(
    analyzers: Mapping[str, Analyzer], request: RunRequest, payload: bytes | bytearray
) -> bytes | tuple[str, str]:
    # NOTE: failures are returned, not encoded here, so that the frames holding the memory
    # of a MemoryError are gone before the reply is built.
    analyzer = analyzers.get(request.analyzer)
    if analyzer is None:
        return "unknown_analyzer", "KeyError"
    try:
        findings = _analyze(analyzer, payload)
        return protocol.encode_reply(TaskSucceeded(task_id=request.task_id, findings=findings))
    except MemoryError:
        return "out_of_memory", "MemoryError"
    except Exception as exc:  # noqa: BLE001 - any analyzer fault becomes this task's failure
        # SECURITY: the class name and code locations only, never the message or a full
        # traceback: exception text may quote hostile package content.
        extra = {
            "analyzer": request.analyzer,
            "code": "analyzer_error",
            "error": type(exc).__name__,
            "where": _where(exc),
        }
        logger.error("analyzer failed in the sandbox", extra=extra)  # noqa: TRY400 - see above
        return "analyzer_error", type(exc).__name__


def _where(exc: BaseException, depth: int = 6) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-depth:]
    return " <- ".join(
        f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" for frame in reversed(frames)
    )


def _analyze(analyzer: Analyzer, payload: bytes | bytearray) -> list[Finding]:
    package = pickle.loads(payload)  # noqa: S301 - the parent is trusted
    if not isinstance(package, SkillPackage):
        raise TypeError("the payload is not a SkillPackage")
    return analyzer.run(package)
