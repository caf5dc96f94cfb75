"""Receive a multipart upload: stream the ZIP into a private folder, counting every byte.

The request must be ``multipart/form-data`` with exactly one ``file`` part (the ZIP)
and at most a few small text fields (scan options). The ZIP is written under a name
the server chooses; the client's file name is kept, cleaned, for display only.
Reading stops the moment a limit is crossed, and at once when ``Content-Length``
already says the body is too large.

Malformed multipart bodies (no boundary, a part cut short, too many or too long
part headers, a preamble without a boundary) are answered with 400, never 500.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiofiles
from aiohttp import BodyPartReader, MultipartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from pydantic import BaseModel, ConfigDict

from scanner.core.errors import (
    BadRequestError,
    PackageTooLargeError,
    RequestTimeoutError,
    UnsupportedMediaError,
)

logger = logging.getLogger(__name__)

UPLOAD_NAME = "upload.zip"
FILE_FIELD = "file"
WORKDIR_PREFIX = "skill-scanner-"
_CHUNK = 64 * 1024
# NOTE: room for boundaries, part headers and the option fields around the file.
_MULTIPART_ALLOWANCE = 64 * 1024
_MAX_PREAMBLE_BYTES = 64 * 1024
_MAX_NAME_CHARS = 100
# NOTE: what aiohttp 3.14 raises on a malformed stream: ValueError (no or bad
# boundary, part cut short, undecodable charset), BadHttpMessage/LineTooLong (too
# many or too long part headers), RuntimeError (bad `_charset_` part),
# IncompleteReadError and ConnectionResetError (client gone mid-body), and the
# Content-Disposition warnings when warnings are turned into errors.
_MALFORMED = (
    ValueError,
    HttpProcessingError,
    asyncio.IncompleteReadError,
    ConnectionResetError,
    RuntimeError,
    BadContentDispositionHeader,
    BadContentDispositionParam,
)


class Upload(BaseModel):
    """A received upload: the ZIP on disk and the other form fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    archive: Path
    size: int
    filename: str | None = None
    fields: dict[str, str]


@dataclass(frozen=True)
class _Limits:
    upload_bytes: int
    field_bytes: int
    fields: int


class _BoundedMultipartReader(MultipartReader):
    """A `MultipartReader` that refuses a long preamble before the first boundary."""

    async def _read_until_first_boundary(self) -> None:
        # NOTE: overrides a private hook of aiohttp 3.14, whose own loop reads any
        # number of lines until it finds the boundary; test_upload pins this.
        # SECURITY: endless bytes with no boundary would be read to the end.
        seen = 0
        while True:
            line = await self._readline()
            seen += len(line)
            if not line:
                raise ValueError("the body has no multipart boundary")
            if seen > _MAX_PREAMBLE_BYTES:
                raise ValueError("too many bytes before the first multipart boundary")
            stripped = line.rstrip()
            if stripped == self._boundary:
                return
            if stripped == self._boundary + b"--":
                self._at_eof = True
                return


async def receive_upload(
    request: web.Request,
    workdir: Path,
    *,
    max_upload_bytes: int,
    max_field_bytes: int = 64 * 1024,
    max_fields: int = 32,
    read_timeout: float = 300.0,
) -> Upload:
    """Read a multipart upload, writing its ``file`` part to ``workdir/upload.zip``.

    Args:
        request: The request, body not yet read.
        workdir: A private folder for this request; the caller removes it.
        max_upload_bytes: Most bytes the ``file`` part may hold.
        max_field_bytes: Most bytes of one other field.
        max_fields: Most fields besides ``file``.
        read_timeout: Seconds allowed for the whole body to arrive.

    Raises:
        UnsupportedMediaError: The body is not ``multipart/form-data``.
        PackageTooLargeError: The body, the file or a field crosses its limit.
        BadRequestError: The multipart body is malformed, or the ``file`` part is
            missing or repeated.
        RequestTimeoutError: The body did not arrive within `read_timeout`.
    """
    _check_headers(request, max_upload_bytes)
    limits = _Limits(max_upload_bytes, max_field_bytes, max_fields)
    try:
        async with asyncio.timeout(read_timeout):
            return await _read_form(request, workdir, limits)
    except TimeoutError as exc:
        raise RequestTimeoutError("the upload did not arrive in time") from exc
    except _MALFORMED as exc:
        message = f"the request body is not valid multipart/form-data: {_reason(exc)}"
        raise BadRequestError(message) from exc


def _check_headers(request: web.Request, max_upload_bytes: int) -> None:
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaError(
            "send the skill as multipart/form-data with a 'file' field holding a ZIP archive"
        )
    length = request.content_length
    if length is not None and length > max_upload_bytes + _MULTIPART_ALLOWANCE:
        raise PackageTooLargeError(f"the upload is over {max_upload_bytes} bytes")


async def _read_form(request: web.Request, workdir: Path, limits: _Limits) -> Upload:
    reader = _BoundedMultipartReader(request.headers, request.content)
    archive = workdir / UPLOAD_NAME
    fields: dict[str, str] = {}
    upload: Upload | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequestError("nested multipart parts are not accepted")
        name, filename = _names(part)
        if name == FILE_FIELD:
            if upload is not None:
                raise BadRequestError("send only one 'file' part")
            size = await _save_file(part, archive, limits.upload_bytes)
            upload = Upload(archive=archive, size=size, filename=_display_name(filename), fields={})
        elif filename is not None:
            raise BadRequestError(
                f"the multipart part {name!r} carries a file; send the ZIP archive in the "
                f"part named '{FILE_FIELD}'"
            )
        else:
            _check_field_name(name, fields, limits.fields)
            fields[str(name)] = await _read_field(part, limits.field_bytes)
    if upload is None:
        raise BadRequestError("multipart field 'file' (a ZIP archive) is required")
    return upload.model_copy(update={"fields": fields})


def _names(part: BodyPartReader) -> tuple[str | None, str | None]:
    # NOTE: aiohttp warns (RuntimeWarning) on a malformed Content-Disposition and
    # then returns None, which is answered as a missing name.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadContentDispositionHeader)
        warnings.simplefilter("ignore", BadContentDispositionParam)
        return part.name, part.filename


def _check_field_name(name: str | None, fields: dict[str, str], max_fields: int) -> None:
    if not name or len(name) > _MAX_NAME_CHARS:
        raise BadRequestError("every form field needs a name of at most 100 characters")
    if name in fields:
        raise BadRequestError(f"form field {name!r} is sent twice")
    if len(fields) >= max_fields:
        raise PackageTooLargeError(f"the form has more than {max_fields} fields")


async def _save_file(part: BodyPartReader, path: Path, limit: int) -> int:
    declared = _declared_length(part)
    if declared is not None and declared > limit:
        raise PackageTooLargeError(f"the upload is over {limit} bytes")
    written = 0
    async with aiofiles.open(path, "xb", opener=_private_opener) as out:
        while not part.at_eof():
            chunk = await part.read_chunk(_CHUNK)
            # SECURITY: stop before writing past the cap; nothing more is read.
            if written + len(chunk) > limit:
                raise PackageTooLargeError(f"the upload is over {limit} bytes")
            await out.write(chunk)
            written += len(chunk)
    if declared is not None and declared != written:
        raise BadRequestError("the 'file' part is shorter or longer than its Content-Length")
    return written


def _declared_length(part: BodyPartReader) -> int | None:
    """Return a part's own Content-Length, which aiohttp ignores for form-data."""
    value = part.headers.get(hdrs.CONTENT_LENGTH)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise BadRequestError("the 'file' part has an invalid Content-Length")
    return int(value)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


async def _read_field(part: BodyPartReader, limit: int) -> str:
    data = bytearray()
    while not part.at_eof():
        data += await part.read_chunk(_CHUNK)
        if len(data) > limit:
            raise PackageTooLargeError(f"a form field is over {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError("form fields must be UTF-8 text") from exc


def _display_name(filename: str | None) -> str | None:
    """Return the last segment of a client file name, printable characters only."""
    if not filename:
        return None
    last = re.split(r"[/\\]", filename)[-1]
    cleaned = "".join(char for char in last if char.isprintable())[:255]
    return cleaned or None


def _reason(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def make_workdir(parent: Path | None = None) -> Path:
    """Create a private (mode 0o700) temp folder for one request, under `parent`."""
    if parent is not None:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=parent))


def remove_workdir(path: Path) -> None:
    """Remove a request's temp folder and everything in it; a missing folder is fine."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError:
        logger.warning("temp folder not removed", extra={"path": str(path)})


@asynccontextmanager
async def request_workdir(parent: Path | None = None) -> AsyncIterator[Path]:
    """Yield a private temp folder, removed on exit whatever happened."""
    path = await asyncio.to_thread(make_workdir, parent)
    try:
        yield path
    finally:
        await asyncio.to_thread(remove_workdir, path)
