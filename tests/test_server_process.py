"""The real server process: starts, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def wait_gone(pids: set[int], seconds: float = 10.0) -> list[str]:
    """Return the command lines of the processes still alive after a grace period."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return [Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in alive]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def wait_until_serving(base: str, proc: subprocess.Popen[bytes]) -> dict:
    for _ in range(300):
        assert proc.poll() is None, "server exited during start-up"
        try:
            return get_json(base + "/health")
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start within 30 s")


def test_sigterm_during_a_batch_stops_everything(corpus_copy: Path, tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SKILL_SCANNER_POOL_SIZE": "2", "SKILL_SCANNER_TEMP_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        health = wait_until_serving(base, proc)
        children = descendants(proc.pid)
        request = urllib.request.Request(  # noqa: S310 - loopback only
            base + "/scan-batch",
            data=json.dumps({"skills_directory": str(corpus_copy)}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback only
            assert resp.status == 202

        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert health["sandbox"]["workers_alive"] == 2
    assert len(children) >= 2
    assert code == 0
    assert wait_gone(children) == []
    assert list(tmp_path.iterdir()) == []
