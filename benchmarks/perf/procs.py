"""Processes of the benchmark: start and stop servers, sample their memory from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load import descendants, proc_table

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree(root: int) -> list[int]:
    """Return `root` and every live descendant of it."""
    return [root, *sorted(descendants(root, proc_table()))]


def _rollup(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) of one process in KiB; (0, 0) when it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return 0, 0
    return rss, pss


def read_chars(pid: int) -> int | None:
    """Return the bytes a process has read through read-like system calls (rchar)."""
    try:
        with open(f"/proc/{pid}/io", "rb") as fh:
            for line in fh:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class MemorySampler:
    """Sample RSS and PSS of a process tree every `gap` seconds in a thread.

    PSS (proportional set size) splits each shared page among the processes that map
    it, so the PSS sum is the memory of the whole service; the RSS sum counts pages
    shared by the fork server and its workers once per process and overstates it.
    """

    pid: int
    gap: float = 0.05
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    peak_parent_rss_kib: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.gap)

    def sample(self) -> None:
        """Take one sample of the whole tree."""
        pids = tree(self.pid)
        sizes = [_rollup(pid) for pid in pids]
        self.peak_rss_kib = max(self.peak_rss_kib, sum(r for r, _ in sizes))
        self.peak_pss_kib = max(self.peak_pss_kib, sum(p for _, p in sizes))
        self.peak_parent_rss_kib = max(self.peak_parent_rss_kib, sizes[0][0])
        self.peak_processes = max(self.peak_processes, sum(1 for r, _ in sizes if r))
        self.samples += 1

    def report(self) -> dict[str, float | int]:
        """Return the peaks in MiB."""
        return {
            "peak_pss_mib": round(self.peak_pss_kib / 1024, 1),
            "peak_rss_mib": round(self.peak_rss_kib / 1024, 1),
            "peak_parent_rss_mib": round(self.peak_parent_rss_kib / 1024, 1),
            "processes": self.peak_processes,
            "samples": self.samples,
        }


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a server in its own session, its output going to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> int | None:
    """Stop a server and everything it started: SIGTERM, then SIGKILL the group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    time.sleep(0.1)
    return proc.returncode
