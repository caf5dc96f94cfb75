"""Test-only analyzers that misbehave on purpose; loaded by sandbox workers as a plugin.

Each is activated by policy only (`enabled_analyzers`), so importing this module in the
test process (the server does, to know its analyzers) changes no default scan.
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import signal
import socket
import struct
import sys
import time
from typing import ClassVar

from scanner.analyzers.base import Activation, Analyzer
from scanner.analyzers.registry import register
from scanner.core.models import Category, Finding, Severity, SkillPackage


class _TestAnalyzer(Analyzer):
    activation: ClassVar[Activation] = Activation(kind="policy", detail="enabled_analyzers")


HOSTILE_TEXT = "hostile text that must never leave the worker"


def _finding(analyzer: str, snippet: str, **metadata: int | str | bool) -> Finding:
    return Finding(
        rule_id=f"{analyzer}.probe",
        category=Category.ANALYSIS_COVERAGE,
        severity=Severity.INFO,
        title="probe",
        description="test analyzer output",
        snippet=snippet,
        analyzer=analyzer,
        metadata=dict(metadata),
    )


@register
class EchoAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-echo"
    description: ClassVar[str] = "Return the package name as a snippet."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        return [_finding(self.name, package.name, pid=os.getpid())]


@register
class CrashAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-crash"
    description: ClassVar[str] = "Exit the worker without cleanup."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        os._exit(3)


@register
class SegfaultAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-segv"
    description: ClassVar[str] = "Read an unmapped address, as a crashing native extension would."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        # NOTE: a real fault, not kill(SIGSEGV): the rule engine's wasm runtime handles
        # SIGSEGV and passes faults outside its code on to the default action by returning,
        # which re-runs a faulting instruction but leaves a merely sent signal ignored.
        # Address 1 is in the first page, which is never mapped (address 0 would make
        # ctypes return zeros instead of reading).
        ctypes.string_at(1, 1)
        return []


@register
class HangAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-hang"
    description: ClassVar[str] = "Never return."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        while True:
            time.sleep(1)


@register
class AllocAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-alloc"
    description: ClassVar[str] = "Allocate memory without bound."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        hoard = []
        while True:
            hoard.append(bytearray(10 * 1024 * 1024))


@register
class RaiseAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-raise"
    description: ClassVar[str] = "Raise an exception whose text must not leak."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        raise ValueError(HOSTILE_TEXT)


@register
class RecurseAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-recurse"
    description: ClassVar[str] = "Recurse without end, past the interpreter's limit."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        sys.setrecursionlimit(1_000_000)
        return _descend(0)


def _descend(depth: int) -> list[Finding]:
    return [*_descend(depth + 1)]


@register
class BigReplyAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-big"
    description: ClassVar[str] = "Return a 2 MiB snippet."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        return [_finding(self.name, "x" * (2 * 1024 * 1024))]


@register
class ProbeAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-probe"
    description: ClassVar[str] = "Report the limits the worker runs under."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        return [
            _finding(
                self.name,
                "limits",
                data=resource.getrlimit(resource.RLIMIT_DATA)[0],
                fsize=resource.getrlimit(resource.RLIMIT_FSIZE)[0],
                core=resource.getrlimit(resource.RLIMIT_CORE)[0],
                sigint_ignored=signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
                stdin_is_devnull=os.path.samestat(os.fstat(0), os.stat(os.devnull)),
                write_error=_try_write(),
                in_sys_modules="tests.sandbox.faulty_analyzers" in sys.modules,
                niceness=os.getpriority(os.PRIO_PROCESS, 0),
            )
        ]


def _try_write() -> str:
    # NOTE: not tempfile: it probes candidate folders by writing, which the limit forbids.
    path = f"/tmp/sandbox-probe-{os.getpid()}-{time.monotonic_ns()}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, b"x")
    except OSError as exc:
        return f"{type(exc).__name__}:{exc.errno}"
    finally:
        os.close(descriptor)
        os.unlink(path)
    return ""


@register
class ForgeAnalyzer(_TestAnalyzer):
    name: ClassVar[str] = "test-forge"
    description: ClassVar[str] = "Act as a compromised worker: write a forged reply first."

    def analyze(self, package: SkillPackage) -> list[Finding]:
        body = b'{"status": "ok", "task_id": 999999, "findings": []}'
        for item in gc.get_objects():
            if isinstance(item, socket.socket) and item.fileno() >= 0:
                item.sendall(struct.pack(">Q", len(body)) + body)
        return []
