"""Open an archive shipped inside a skill, in memory, with the limits of an upload.

ZIP files go through the upload reader (`scanner.intake.archive.read_zip`): entry
count, declared and real sizes, ratios, names, links, overlaps. Tar files get the same
name checks and limits here; gzip, bzip2 and xz are inflated with a cap on their
output, then read as tar when they hold one, else as one file. Every archive opened
for one scan draws from one byte budget, so a skill of many archives cannot exhaust
the worker. Members become a `SkillPackage` that the other analyzers scan.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from scanner.core.errors import (
    InvalidArchiveError,
    PackageTooLargeError,
    ScannerError,
    UnsafeArchiveError,
)
from scanner.core.models import SkillFile, SkillPackage
from scanner.intake._content import classify
from scanner.intake.archive import member_parts, read_zip
from scanner.settings import Settings

_DEFAULTS = Settings.model_fields
MAX_ENTRIES: int = _DEFAULTS["max_zip_entries"].default
MAX_UNCOMPRESSED: int = _DEFAULTS["max_uncompressed_bytes"].default
MAX_MEMBER_BYTES: int = _DEFAULTS["max_file_bytes"].default
# NOTE: archives are unpacked in the worker's memory, so all of them together get a
# smaller budget than one upload on disk; past it an archive is reported, not opened.
MAX_TOTAL_BYTES = 48 * 1024 * 1024
MAX_ARCHIVES = 64
MAX_DEPTH = 2
# A ratio no ordinary archive reaches; past it a refused archive is a bomb.
BOMB_RATIO = 100
OPENABLE = frozenset({"zip", "tar", "gzip", "bzip2", "xz"})
_COMPRESSED = {"gzip": "gz", "bzip2": "bz2", "xz": "xz"}


@dataclass
class Budget:
    """What one scan may still unpack, shared by every nested archive."""

    bytes_left: int = MAX_TOTAL_BYTES
    archives_left: int = MAX_ARCHIVES


@dataclass(frozen=True)
class ArchiveProblem:
    """Why an archive was not opened.

    `reason` is one of encrypted, unsafe, bomb, too_large, corrupt, budget, too_deep.
    """

    reason: str
    message: str


Members = list[tuple[str, bytes]]


def open_members(data: bytes, kind: str, budget: Budget) -> Members | ArchiveProblem:
    """Return the files of the archive in `data`, or why it cannot be opened."""
    if budget.archives_left <= 0 or budget.bytes_left <= 0:
        return ArchiveProblem("budget", "the scan's budget for opening archives is spent")
    budget.archives_left -= 1
    limit = min(MAX_UNCOMPRESSED, budget.bytes_left)
    try:
        members = _members(data, kind, limit)
    except ScannerError as exc:
        return _problem(exc, data)
    budget.bytes_left -= sum(len(body) for _, body in members)
    return members


def _members(data: bytes, kind: str, limit: int) -> list[tuple[str, bytes]]:
    if kind == "zip":
        return read_zip(
            data,
            max_entries=MAX_ENTRIES,
            max_uncompressed_bytes=limit,
            max_file_bytes=MAX_MEMBER_BYTES,
        )
    if kind == "tar":
        return read_tar(data, limit)
    inner = inflate(data, kind, limit)
    if len(inner) > 262 and inner[257:262] == b"ustar":
        return read_tar(inner, limit)
    return [("content", inner)]


def _problem(exc: ScannerError, data: bytes) -> ArchiveProblem:
    message = str(exc)
    if isinstance(exc, UnsafeArchiveError):
        return ArchiveProblem("unsafe", message)
    if isinstance(exc, PackageTooLargeError):
        declared = _declared_total(data)
        bomb = declared > BOMB_RATIO * max(len(data), 1)
        return ArchiveProblem("bomb" if bomb else "too_large", message)
    if "encrypted" in message:
        return ArchiveProblem("encrypted", message)
    if "cannot have" in message:
        return ArchiveProblem("bomb", message)
    return ArchiveProblem("corrupt", message)


def _declared_total(data: bytes) -> int:
    """Return the sizes a ZIP's central directory declares, 0 when it cannot be read."""
    if not data.startswith(b"PK"):
        return 0
    try:
        with io.BytesIO(data) as handle, zipfile.ZipFile(handle) as zf:
            return sum(info.file_size for info in zf.infolist())
    except (ValueError, OSError, EOFError, NotImplementedError, zipfile.BadZipFile):
        return 0


def inflate(data: bytes, kind: str, limit: int) -> bytes:
    """Decompress a gzip, bzip2 or xz stream to at most `limit` bytes.

    Raises:
        PackageTooLargeError: The stream inflates to more than `limit` bytes.
        InvalidArchiveError: The stream is damaged.
    """
    decompressor: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor
    if kind == "gzip":
        decompressor = zlib.decompressobj(wbits=31)
    elif kind == "bzip2":
        decompressor = bz2.BZ2Decompressor()
    else:
        decompressor = lzma.LZMADecompressor()
    try:
        # SECURITY: one byte over the limit is enough to know the stream is too big;
        # never inflate a bomb to find its size.
        out = decompressor.decompress(data, limit + 1)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise InvalidArchiveError(f"the {kind} stream is damaged: {exc}") from exc
    if len(out) > limit:
        raise PackageTooLargeError(f"the {kind} stream inflates to over {limit} bytes")
    return out


def read_tar(data: bytes, limit: int) -> list[tuple[str, bytes]]:
    """Return the regular files of a tar held in memory, checked like a ZIP upload.

    Raises:
        UnsafeArchiveError: A member is a link or device, or its name could escape.
        PackageTooLargeError: Too many entries or bytes.
        InvalidArchiveError: The tar is damaged.
    """
    out: list[tuple[str, bytes]] = []
    total = count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            while (member := tar.next()) is not None:
                count += 1
                if count > MAX_ENTRIES:
                    raise PackageTooLargeError(f"the archive has over {MAX_ENTRIES} entries")
                parts, _ = member_parts(member.name + ("/" if member.isdir() else ""))
                if member.isdir():
                    continue
                if not member.isfile():
                    raise UnsafeArchiveError(f"member {member.name[:100]!r} is not a regular file")
                total += member.size
                if member.size > MAX_MEMBER_BYTES or total > limit:
                    raise PackageTooLargeError(f"the archive unpacks to over {limit} bytes")
                handle = tar.extractfile(member)
                body = handle.read(member.size) if handle is not None else b""
                out.append(("/".join(parts), body))
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArchiveError(f"the tar archive is damaged: {exc}") from exc
    return out


def inner_name(path: str, kind: str, name: str) -> str:
    """Return the name of a compressed file's single member (``a.txt.gz`` -> ``a.txt``)."""
    if name != "content":
        return name
    base = posixpath.basename(path)
    suffix = "." + _COMPRESSED.get(kind, "")
    if base.lower().endswith(suffix) and len(base) > len(suffix):
        return base[: -len(suffix)]
    return name


def sub_package(outer: SkillFile, kind: str, members: list[tuple[str, bytes]]) -> SkillPackage:
    """Return the members of an archive as a package the analyzers can scan."""
    items = (_member_file(inner_name(outer.path, kind, name), body) for name, body in members)
    files = tuple(sorted(items, key=lambda item: item.path))
    return SkillPackage(
        name=outer.path,
        root_name=posixpath.basename(outer.path),
        files=files,
        total_bytes=sum(len(body) for _, body in members),
    )


def _member_file(path: str, raw: bytes) -> SkillFile:
    content = classify(raw, name=path, truncated=False)
    return SkillFile(
        path=path,
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        kind=content.kind,
        detected_type=content.detected_type,
        encoding=content.decoded.encoding if content.decoded else None,
        text=content.decoded.text if content.decoded else None,
        data=None if content.decoded else raw,
    )
