from __future__ import annotations

import asyncio
import contextlib
import json
import stat
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from scanner.core.errors import ScannerError
from scanner.intake.upload import (
    UPLOAD_NAME,
    make_workdir,
    receive_upload,
    remove_workdir,
    request_workdir,
)

CAP = 256 * 1024
CHUNK = 64 * 1024
BOUNDARY = b"XyZzy"
FILE_HEADERS = b'Content-Disposition: form-data; name="file"; filename="../../evil.zip"'
TEMP = web.AppKey("temp", Path)
LIMITS = web.AppKey("limits", dict)


async def upload_handler(request: web.Request) -> web.Response:
    async with request_workdir(request.app[TEMP]) as workdir:
        try:
            upload = await receive_upload(request, workdir, **request.app[LIMITS])
        except ScannerError as exc:
            archive = workdir / UPLOAD_NAME
            body = {
                "code": exc.code,
                "message": exc.message,
                "read": request.content.total_bytes,
                "written": archive.stat().st_size if archive.exists() else 0,
            }
            return web.json_response(body, status=exc.http_status)
        body = {
            "archive": upload.archive.name,
            "in_workdir": upload.archive.parent == workdir,
            "content": upload.archive.read_bytes().decode("latin-1"),
            "size": upload.size,
            "filename": upload.filename,
            "fields": upload.fields,
        }
        return web.json_response(body)


def make_app(temp: Path, **limits: Any) -> web.Application:
    app = web.Application()
    app[TEMP] = temp
    app[LIMITS] = {"max_upload_bytes": CAP, **limits}
    app.router.add_post("/upload", upload_handler)
    return app


@pytest.fixture
def temp(tmp_path: Path) -> Path:
    path = tmp_path / "server-tmp"
    path.mkdir()
    return path


def form(*parts: tuple[bytes, bytes], final: bool = True) -> bytes:
    body = b"".join(
        b"--" + BOUNDARY + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts
    )
    return body + (b"--" + BOUNDARY + b"--\r\n" if final else b"")


def head(
    length: int | None, content_type: bytes = b"multipart/form-data; boundary=" + BOUNDARY
) -> bytes:
    framing = b"Transfer-Encoding: chunked" if length is None else b"Content-Length: %d" % length
    return (
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
        + content_type
        + b"\r\n"
        + framing
        + b"\r\n\r\n"
    )


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


async def send_raw(port: int, start: bytes, pieces: Iterable[bytes]) -> tuple[int, dict[str, Any]]:
    """Send a raw request while reading the answer; stop sending once it arrives."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(start)

    async def pump() -> None:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()

    sender = asyncio.create_task(pump())
    try:
        status = int((await asyncio.wait_for(reader.readline(), 10)).split()[1])
        headers = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode()
        length = int(
            next(
                line.split(":")[1]
                for line in headers.split("\r\n")
                if line.lower().startswith("content-length")
            )
        )
        body = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        writer.close()
    return status, body


async def test_upload_stores_file_under_server_name(aiohttp_client: AiohttpClient, temp: Path):
    client = await aiohttp_client(make_app(temp))
    data = aiohttp.FormData()
    data.add_field("file", b"PK\x03\x04zip-bytes", filename="skill.zip")
    data.add_field("policy", "strict")
    data.add_field("use_llm", "false")

    response = await client.post("/upload", data=data)
    body = await response.json()

    assert response.status == 200
    assert body == {
        "archive": UPLOAD_NAME,
        "in_workdir": True,
        "content": "PK\x03\x04zip-bytes",
        "size": 13,
        "filename": "skill.zip",
        "fields": {"policy": "strict", "use_llm": "false"},
    }
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(
    ("disposition", "shown"),
    [
        (FILE_HEADERS, "evil.zip"),
        (b'Content-Disposition: form-data; name="file"; filename="/etc/cron.d/x"', "x"),
        (b'Content-Disposition: form-data; name="file"; filename="..\\\\..\\\\w.zip"', "w.zip"),
        (
            b'Content-Disposition: form-data; name="file"; '
            b"filename*=utf-8''%2E%2E%2Fetc%2Fpasswd",
            "passwd",
        ),
        (b'Content-Disposition: form-data; name="file"', None),
    ],
)
async def test_upload_never_uses_client_file_name_as_path(
    aiohttp_server: AiohttpServer, temp: Path, disposition: bytes, shown: str | None
):
    server = await aiohttp_server(make_app(temp))
    payload = form((disposition, b"PK"))

    status, body = await send_raw(server.port, head(len(payload)), [payload])

    assert status == 200
    assert body["archive"] == UPLOAD_NAME
    assert body["in_workdir"] is True
    assert body["filename"] == shown


async def test_upload_refuses_content_length_over_cap_before_reading(
    aiohttp_server: AiohttpServer, temp: Path
):
    server = await aiohttp_server(make_app(temp))

    status, body = await send_raw(server.port, head(64 * 1024 * 1024), [])

    assert status == 413
    assert body["code"] == "too_large"
    assert body["read"] == 0
    assert list(temp.iterdir()) == []


async def test_upload_stops_chunked_body_at_cap(aiohttp_server: AiohttpServer, temp: Path):
    server = await aiohttp_server(make_app(temp))
    pieces = chunked(
        [b"--" + BOUNDARY + b"\r\n" + FILE_HEADERS + b"\r\n\r\n", *[b"z" * CHUNK] * 256]
    )

    status, body = await send_raw(server.port, head(None), pieces)

    assert status == 413
    assert body["written"] <= CAP
    # NOTE: aiohttp buffers ahead of the handler; the rest of the 16 MiB is never read.
    assert body["read"] < CAP + 1024 * 1024
    assert list(temp.iterdir()) == []


async def test_upload_at_exact_cap_is_accepted(aiohttp_server: AiohttpServer, temp: Path):
    server = await aiohttp_server(make_app(temp))
    payload = form((FILE_HEADERS, b"p" * CAP))

    status, body = await send_raw(server.port, head(len(payload)), [payload])

    assert status == 200
    assert body["size"] == CAP


async def test_upload_requires_file_part(aiohttp_client: AiohttpClient, temp: Path):
    client = await aiohttp_client(make_app(temp))
    data = aiohttp.FormData({"policy": "strict"}, default_to_multipart=True)

    response = await client.post("/upload", data=data)
    body = await response.json()

    assert response.status == 400
    assert body["message"] == "multipart field 'file' (a ZIP archive) is required"


async def test_upload_refuses_second_file_part(aiohttp_server: AiohttpServer, temp: Path):
    server = await aiohttp_server(make_app(temp))
    payload = form((FILE_HEADERS, b"one"), (FILE_HEADERS, b"two"))

    status, body = await send_raw(server.port, head(len(payload)), [payload])

    assert status == 400
    assert "only one 'file'" in body["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/zip", "text/plain"])
async def test_upload_refuses_other_media_types(
    aiohttp_client: AiohttpClient, temp: Path, content_type: str
):
    client = await aiohttp_client(make_app(temp))

    response = await client.post("/upload", data=b"{}", headers={"Content-Type": content_type})

    assert response.status == 415
    assert (await response.json())["code"] == "unsupported_media_type"


async def test_upload_without_boundary_is_bad_request(aiohttp_client: AiohttpClient, temp: Path):
    client = await aiohttp_client(make_app(temp))

    response = await client.post(
        "/upload", data=b"x", headers={"Content-Type": "multipart/form-data"}
    )

    assert response.status == 400
    assert "boundary" in (await response.json())["message"]


def cut_part() -> bytes:
    return b"--" + BOUNDARY + b"\r\n" + FILE_HEADERS + b"\r\nContent-Length: 100000\r\n\r\nshort"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        pytest.param(cut_part(), 400, id="hs01-part-cut-short"),
        pytest.param(cut_part() + b"\r\n--" + BOUNDARY + b"--\r\n", 400, id="hs01-length-lies"),
        pytest.param(
            b"--"
            + BOUNDARY
            + b"\r\n"
            + FILE_HEADERS
            + b"\r\n"
            + b"\r\n".join(b"X-H%d: v" % i for i in range(20_000))
            + b"\r\n\r\nPK\r\n",
            400,
            id="hs04-many-headers",
        ),
        pytest.param(
            b"--"
            + BOUNDARY
            + b"\r\n"
            + FILE_HEADERS
            + b"\r\nX-Big: "
            + b"a" * 1024 * 1024
            + b"\r\n\r\nPK\r\n",
            400,
            id="hs04-huge-header",
        ),
        pytest.param(
            b"--"
            + BOUNDARY
            + b'\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n'
            + b"x" * 64
            + b"\r\n",
            400,
            id="bad-charset-part",
        ),
        pytest.param(form((b"Content-Disposition: form-data", b"v")), 400, id="nameless-part"),
        pytest.param(
            form((b'Content-Disposition: form-data; name="a"', b"\xff\xfe")), 400, id="binary-field"
        ),
        pytest.param(
            form(
                (b'Content-Disposition: form-data; name="a"', b"1"),
                (b'Content-Disposition: form-data; name="a"', b"2"),
            ),
            400,
            id="repeated-field",
        ),
        pytest.param(
            form((b'Content-Disposition: form-data; name="a"', b"v" * (CHUNK + 1))),
            413,
            id="long-field",
        ),
        pytest.param(
            form(*[(b'Content-Disposition: form-data; name="f%d"' % i, b"v") for i in range(40)]),
            413,
            id="many-fields",
        ),
    ],
)
async def test_upload_malformed_bodies_get_client_errors(
    aiohttp_server: AiohttpServer, temp: Path, payload: bytes, status: int
):
    server = await aiohttp_server(make_app(temp, max_upload_bytes=4 * 1024 * 1024))

    answer, body = await asyncio.wait_for(send_raw(server.port, head(len(payload)), [payload]), 5)

    assert answer == status
    assert body["code"] in ("bad_request", "too_large")
    assert list(temp.iterdir()) == []


async def test_upload_refuses_endless_preamble_early(aiohttp_server: AiohttpServer, temp: Path):
    server = await aiohttp_server(make_app(temp, max_upload_bytes=64 * 1024 * 1024))
    lines = (b"x" * 1000 + b"\r\n" for _ in range(64 * 1024))

    status, body = await send_raw(server.port, head(None), chunked(lines))

    assert status == 400
    assert "before the first multipart boundary" in body["message"]
    assert body["read"] < 1024 * 1024


async def test_upload_times_out_on_stalled_body(aiohttp_server: AiohttpServer, temp: Path):
    server = await aiohttp_server(make_app(temp, read_timeout=0.3))
    payload = form((FILE_HEADERS, b"data"))

    status, body = await send_raw(server.port, head(len(payload)), [payload[:40]])

    assert status == 408
    assert body["code"] == "request_timeout"
    assert list(temp.iterdir()) == []


async def test_request_workdir_is_private_and_removed_on_error(tmp_path: Path):
    seen: list[tuple[Path, int]] = []

    async def fail_inside() -> None:
        async with request_workdir(tmp_path / "parent") as workdir:
            (workdir / "sub").mkdir()
            (workdir / "sub" / "file").write_bytes(b"x")
            seen.append((workdir, stat.S_IMODE(workdir.stat().st_mode)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()

    workdir, mode = seen[0]
    assert mode == 0o700
    assert workdir.name.startswith("skill-scanner-")
    assert not workdir.exists()
    assert list((tmp_path / "parent").iterdir()) == []


async def test_request_workdir_tolerates_removed_folder(tmp_path: Path):
    async with request_workdir(tmp_path) as workdir:
        remove_workdir(workdir)

    assert list(tmp_path.iterdir()) == []


def test_make_workdir_creates_unique_folders(tmp_path: Path):
    first, second = make_workdir(tmp_path), make_workdir(tmp_path)

    assert first != second
    assert first.parent == tmp_path


async def stream(total: int) -> AsyncIterator[bytes]:
    yield b"--" + BOUNDARY + b"\r\n" + FILE_HEADERS + b"\r\n\r\n"
    for _ in range(total // CHUNK):
        yield b"q" * CHUNK


async def test_upload_client_streaming_over_cap_gets_413(aiohttp_client: AiohttpClient, temp: Path):
    client = await aiohttp_client(make_app(temp))
    content_type = "multipart/form-data; boundary=" + BOUNDARY.decode()

    try:
        response = await client.post(
            "/upload", data=stream(4 * CAP), headers={"Content-Type": content_type}
        )
    except aiohttp.ClientError:
        # The server closed the connection while the client was still sending: that close is
        # the refusal; what reached the disk must still be within the cap.
        written = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())
        assert written <= CAP
        return
    body = await response.json()

    assert response.status == 413
    assert body["written"] <= CAP
