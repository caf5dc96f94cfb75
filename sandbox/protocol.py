"""Wire format between the sandbox pool and its workers.

A frame is an 8-byte big-endian length followed by that many bytes. The parent
sends a pickled request, followed for a task by the payload frame (the pickled
package). A worker answers in JSON only, validated here by pydantic.

SECURITY: a worker has processed hostile bytes, so nothing it sends is ever
unpickled by the parent; replies are size-capped and schema-checked, and a
failure carries an error code and an exception class name, never its text.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from scanner.core.models import Finding

HEADER = struct.Struct(">Q")
MAX_REPLY_BYTES = 64 * 1024 * 1024
FATAL_CODES = frozenset({"out_of_memory"})
"""Failure codes after which the worker exits and must be replaced."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
_ClassName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")]
_AnalyzerName = Annotated[str, Field(min_length=1, max_length=100)]


class FrameTooLargeError(Exception):
    """A peer announced a frame longer than the reader accepts."""


class RunRequest(NamedTuple):
    """Run one analyzer on the package sent in the next frame."""

    task_id: int
    analyzer: str


class ShutdownRequest(NamedTuple):
    """Finish the current task, if any, then exit."""

    reason: str = "pool closing"


class WorkerReady(BaseModel):
    """First message of a worker: its analyzers are built and it takes tasks."""

    model_config = _FROZEN

    status: Literal["ready"] = "ready"
    analyzers: tuple[_AnalyzerName, ...] = Field(max_length=1000)


class TaskSucceeded(BaseModel):
    """The findings of one task."""

    model_config = _FROZEN

    status: Literal["ok"] = "ok"
    task_id: int
    findings: list[Finding]


class TaskFailed(BaseModel):
    """A task (or the worker start, task 0) failed; `message` is an exception class name."""

    model_config = _FROZEN

    status: Literal["failed"] = "failed"
    task_id: int
    code: _Code
    message: _ClassName


Reply = Annotated[WorkerReady | TaskSucceeded | TaskFailed, Field(discriminator="status")]
REPLIES: TypeAdapter[WorkerReady | TaskSucceeded | TaskFailed] = TypeAdapter(Reply)


def encode_request(request: RunRequest | ShutdownRequest) -> bytes:
    """Return the frame body of a parent-to-worker request."""
    return pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)


def encode_reply(reply: WorkerReady | TaskSucceeded | TaskFailed) -> bytes:
    """Return the JSON frame body of a worker-to-parent reply."""
    return REPLIES.dump_json(reply)


def write_request(
    writer: asyncio.StreamWriter, request: RunRequest | ShutdownRequest, payload: bytes = b""
) -> None:
    """Queue a request, and for a task its payload frame, on a worker's channel.

    The writes happen in one synchronous step, so frames from two coroutines
    never interleave.
    """
    body = encode_request(request)
    writer.write(HEADER.pack(len(body)) + body)
    if isinstance(request, RunRequest):
        writer.write(HEADER.pack(len(payload)))
        writer.write(payload)


async def read_frame(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Read one frame of at most `limit` bytes.

    Raises:
        FrameTooLargeError: the announced length is over `limit` (the body is left unread).
        asyncio.IncompleteReadError: the channel closed first.
    """
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > limit:
        raise FrameTooLargeError(size)
    return await reader.readexactly(size)


def send_frame(channel: socket.socket, body: bytes) -> None:
    """Send one frame on a blocking socket."""
    channel.sendall(HEADER.pack(len(body)))
    channel.sendall(body)


def recv_frame(channel: socket.socket) -> bytearray:
    """Receive one frame from a blocking socket.

    Raises:
        EOFError: the peer closed the channel.
    """
    (size,) = HEADER.unpack(_recv_exactly(channel, HEADER.size))
    return _recv_exactly(channel, size)


def _recv_exactly(channel: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = channel.recv_into(view[received:])
        if count == 0:
            raise EOFError("sandbox channel closed")
        received += count
    return buffer
