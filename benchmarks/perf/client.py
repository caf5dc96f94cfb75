"""Talk to a server under test: ours or a second server of the same API.

The two servers take the same request shapes for what the benchmark does (`/scan`
with `skill_directory`, `/scan-upload` with a `file` part, `/scan-batch` with
`skills_directory` and a status to poll), so the adapter is small: it knows which
status words end a batch, and reads the verdict fields each returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from benchmarks.perf import gen

REQUEST_TIMEOUT = 300.0
BATCH_DONE = {"completed", "failed", "cancelled", "error"}


@dataclass
class Sample:
    """One request: how long it took end to end and what the server said."""

    seconds: float
    status: int | None
    error: str | None = None
    is_safe: bool | None = None
    findings: int | None = None
    server_seconds: float | None = None


@dataclass
class Target:
    """A server under test."""

    name: str
    base_url: str
    pid: int | None = None
    version: str | None = None
    startup_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    @property
    def host_port(self) -> tuple[str, int]:
        """Return the host and port of the base URL."""
        parts = urlsplit(self.base_url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    async def open(self) -> None:
        """Open this target's HTTP session."""
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self.session = aiohttp.ClientSession(timeout=timeout, connector=connector)

    async def close(self) -> None:
        """Close this target's HTTP session."""
        if self.session is not None:
            await self.session.close()

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[Sample, Any]:
        assert self.session is not None
        t0 = time.perf_counter()
        try:
            async with self.session.request(method, self.base_url + path, **kwargs) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Sample(time.perf_counter() - t0, None, type(exc).__name__), None
        elapsed = time.perf_counter() - t0
        data = None
        with contextlib.suppress(ValueError):
            import json

            data = json.loads(body)
        return _sample(elapsed, status, data), data

    async def health(self) -> Sample:
        """GET /health."""
        sample, _ = await self._call("GET", "/health")
        return sample

    async def scan(self, folder: str) -> Sample:
        """POST /scan of a folder on the server's disk."""
        sample, _ = await self._call("POST", "/scan", json={"skill_directory": folder})
        return sample

    async def upload(self, archive: bytes, name: str = "skill.zip") -> Sample:
        """POST /scan-upload of a ZIP archive."""
        form = aiohttp.FormData()
        form.add_field("file", archive, filename=name, content_type="application/zip")
        sample, _ = await self._call("POST", "/scan-upload", data=form)
        return sample

    async def batch(self, folder: str, poll: float = 0.1) -> dict[str, Any]:
        """Run a batch over a folder and wait for its end; return time and counts."""
        t0 = time.perf_counter()
        sample, data = await self._call("POST", "/scan-batch", json={"skills_directory": folder})
        if not isinstance(data, dict) or "scan_id" not in data:
            return {"seconds": sample.seconds, "status": f"submit {sample.status}", "skills": 0}
        path = f"/scan-batch/{data['scan_id']}"
        while time.perf_counter() - t0 < REQUEST_TIMEOUT:
            await asyncio.sleep(poll)
            _, data = await self._call("GET", path)
            status = data.get("status") if isinstance(data, dict) else None
            if status in BATCH_DONE:
                break
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "status": status, "skills": _batch_count(data)}


def _sample(elapsed: float, status: int, data: object) -> Sample:
    if not isinstance(data, dict):
        return Sample(elapsed, status)
    return Sample(
        elapsed,
        status,
        is_safe=data.get("is_safe"),
        findings=data.get("findings_count"),
        server_seconds=data.get("scan_duration_seconds"),
    )


def _batch_count(data: object) -> int:
    """Return how many skills a finished batch reports, in either server's shape."""
    if not isinstance(data, dict):
        return 0
    result = data.get("result") or {}
    if not isinstance(result, dict):
        return 0
    summary = result.get("summary")
    if isinstance(summary, dict) and "total_skills" in summary:
        return int(summary["total_skills"])
    for key in ("results", "skills"):
        if isinstance(result.get(key), list):
            return len(result[key])
    return int(result.get("total_skills_scanned") or 0)


async def _read_status(reader: asyncio.StreamReader) -> int | None:
    """Read an HTTP response head; return its status code, or None if the peer closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def _request_head(host: str, port: int, boundary: str, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /scan-upload HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\n\r\n"
    ).encode()


async def oversized_upload(
    target: Target, total: int, *, declare_length: bool, limit_seconds: float = 120.0
) -> dict[str, Any]:
    """Stream a `total`-byte upload from a generator and count what was sent before refusal.

    The body is produced chunk by chunk (64 KiB) and never held whole. After each
    chunk the client waits until the server program has read it (both socket queues
    of the connection empty, from /proc/net/tcp), so the count of bytes sent when the
    response head arrives is what the server read before refusing, to one chunk.
    Sending stops at the response or when the connection breaks.
    """
    host, port = target.host_port
    boundary = "perf-bench-boundary"
    head = gen.multipart_head(boundary)
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + total + len(tail) if declare_length else None
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    t0 = time.perf_counter()
    response = asyncio.ensure_future(_read_status(reader))
    sent, error = 0, None
    kernel: dict[str, int | None] = {}
    writer.write(_request_head(host, port, boundary, length))
    try:
        for chunk in chain([head], gen.endless_zip_bytes(total), [tail]):
            writer.write(_frame(chunk, chunked=length is None))
            drain = asyncio.ensure_future(writer.drain())
            await asyncio.wait(
                {drain, response}, timeout=limit_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if not drain.done():
                drain.cancel()
                break
            if drain.exception() is not None:
                error = type(drain.exception()).__name__
                break
            await _lockstep(sock, port, response)
            sent += len(chunk)
            if response.done() or time.perf_counter() - t0 > limit_seconds:
                break
        kernel = _socket_counts(sock, port)
        if length is None and not response.done() and error is None:
            writer.write(b"0\r\n\r\n")
        status = await asyncio.wait_for(response, timeout=limit_seconds)
    except (ConnectionError, TimeoutError) as exc:
        status, error = None, error or type(exc).__name__
    finally:
        response.cancel()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    seconds = time.perf_counter() - t0
    return {
        "declared_length": declare_length,
        "status": status,
        "body_bytes_sent": sent,
        **kernel,
        "seconds": round(seconds, 3),
        "error": error,
    }


def _queues(client_port: int, server_port: int) -> tuple[int, int] | None:
    """Return (client send queue, server receive queue) of one loopback connection."""
    send = recv = None
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            local = int(fields[1].split(":")[1], 16)
            remote = int(fields[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            if (local, remote) == (client_port, server_port):
                send = tx
            elif (local, remote) == (server_port, client_port):
                recv = rx
    return None if send is None or recv is None else (send, recv)


async def _lockstep(sock: socket.socket, server_port: int, response: asyncio.Future[Any]) -> None:
    """Wait until the server program has read every byte sent so far (or has answered).

    With this, the count of bytes sent is the count the server read, give or take
    the last chunk: nothing waits unseen in a socket buffer.
    """
    client_port = sock.getsockname()[1]
    for _ in range(2000):
        if response.done():
            return
        queues = _queues(client_port, server_port)
        if queues is None or queues == (0, 0):
            return
        await asyncio.sleep(0.0005)


def _socket_counts(sock: socket.socket, server_port: int) -> dict[str, int | None]:
    """Return what the server's kernel took and what its program had not read yet.

    `delivered` is the client's tcpi_bytes_acked (TCP_INFO): request bytes the
    server's kernel acknowledged. `unread` is the receive queue of the server's end
    of this connection (/proc/net/tcp, same host). Their difference bounds what the
    server program had read when the answer came.
    """
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    delivered = int.from_bytes(info[120:128], "little") if len(info) >= 128 else None
    client_port = sock.getsockname()[1]
    unread = None
    try:
        with open("/proc/net/tcp") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if (int(local.split(":")[1], 16), int(remote.split(":")[1], 16)) == (
                    server_port,
                    client_port,
                ):
                    unread = int(fields[4].split(":")[1], 16)
    except OSError:
        unread = None
    read = delivered - unread if delivered is not None and unread is not None else None
    return {"kernel_delivered": delivered, "server_unread": unread, "server_read": read}


def _frame(chunk: bytes, *, chunked: bool) -> bytes:
    if not chunked:
        return chunk
    return f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
