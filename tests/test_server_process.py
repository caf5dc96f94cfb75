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


def raw_exchange(port: int, request: bytes) -> tuple[int, str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    ctype = next(
        (x.split(":", 1)[1].strip() for x in lines if x.lower().startswith("content-type")), ""
    )
    return int(lines[0].split()[1]), ctype, body


def test_protocol_errors_are_json_too(tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SKILL_SCANNER_POOL_SIZE": "1", "SKILL_SCANNER_TEMP_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_serving(base, proc)
        huge_header = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000
        status, ctype, body = raw_exchange(port, huge_header + b"\r\n\r\n")
        long_line = b"GET /" + b"b" * 20000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        status2, ctype2, body2 = raw_exchange(port, long_line)
        health = get_json(base + "/health")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    assert (status, ctype) == (400, "application/json; charset=utf-8")
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert status2 in (400, 414)
    assert ctype2.startswith("application/json")
    assert "error" in json.loads(body2)
    assert health["status"] == "ok"
