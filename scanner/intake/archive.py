"""Extract an uploaded ZIP archive without trusting any of its headers.

Everything is checked from the central directory before the first byte is written:
the entry count (read from the end record, then counted, before `zipfile` parses
anything), names, types, declared sizes, and the local headers of every member.
Members are then extracted one at a time into new files, counting the bytes
really written.

Refused with `UnsafeArchiveError`: ``..``, ``.`` or empty path segments, absolute
paths, drive letters, backslashes (a plain name character on POSIX, a separator on
Windows: refused rather than guessed), NUL and other control characters, symlinks
and other non-regular members, duplicate names and names equal but for case or
Unicode normalisation, a name used both as a file and as a folder, a local header
whose name differs from the central directory's, and members whose data overlap.

Refused with `InvalidArchiveError`: anything `zipfile` cannot read, encrypted
members, compression other than stored or deflate, ZIP64 sentinel values without
a ZIP64 extra field, and declared sizes that no deflate stream can have.

Refused with `PackageTooLargeError`: more entries than allowed (folders count), a
declared total or member size over its limit, or more bytes than declared.

Nested archives are extracted as plain files. On error `dest` may hold part of
the output: the caller removes its work folder.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from scanner.core.errors import InvalidArchiveError, PackageTooLargeError, UnsafeArchiveError

MAX_DEPTH = 32
MAX_SEGMENT_BYTES = 255
_CHUNK = 64 * 1024
_SENTINEL = 0xFFFFFFFF
_ENCRYPTED_FLAGS = 0x0001 | 0x0040 | 0x2000
_UTF8_FLAG = 0x0800
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# NOTE: deflate cannot compress more than 1032:1, and no real encoder grows data by
# a quarter (fixed Huffman codes add at most 1/8); sizes beyond these are forged.
_MAX_DEFLATE_RATIO = 1032
_DRIVE = re.compile(r"[A-Za-z]:")
_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CDH = struct.Struct("<4s4B4HL2L5H2L")
_LFH = struct.Struct("<4s2B4HL2L2H")
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE})
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    NotImplementedError,
    ValueError,
    OverflowError,
)


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool


@dataclass(frozen=True)
class _Limits:
    entries: int
    total_bytes: int
    file_bytes: int | None


def extract_zip(
    archive: Path,
    dest: Path,
    *,
    max_entries: int,
    max_uncompressed_bytes: int,
    max_file_bytes: int | None = None,
) -> Path:
    """Check the ZIP at `archive`, then extract it into `dest` (created, mode 0o700).

    Args:
        archive: The ZIP file.
        dest: A missing or empty folder that receives the members.
        max_entries: Most entries allowed, folders included.
        max_uncompressed_bytes: Most bytes the members may unpack to, all together.
        max_file_bytes: Most bytes one member may unpack to, if limited.

    Returns:
        `dest`.

    Raises:
        InvalidArchiveError: The file is not a ZIP archive that can be read safely.
        UnsafeArchiveError: A member would escape, alias or overlap another.
        PackageTooLargeError: A count or size limit is crossed.
    """
    limits = _Limits(max_entries, max_uncompressed_bytes, max_file_bytes)
    with _translate_errors(), archive.open("rb") as handle:
        counted = _precount(handle, limits.entries)
        with zipfile.ZipFile(handle) as zf:
            members = _check_members(zf, handle, counted, limits)
            _extract_members(zf, members, dest, limits)
    return dest


def read_zip(
    data: bytes,
    *,
    max_entries: int,
    max_uncompressed_bytes: int,
    max_file_bytes: int | None = None,
) -> list[tuple[str, bytes]]:
    """Check a ZIP held in memory like an upload, then return its files as (name, bytes).

    The checks and limits are those of `extract_zip`; folders are left out of the result.

    Raises:
        InvalidArchiveError: The bytes are not a ZIP archive that can be read safely.
        UnsafeArchiveError: A member would escape, alias or overlap another.
        PackageTooLargeError: A count or size limit is crossed.
    """
    limits = _Limits(max_entries, max_uncompressed_bytes, max_file_bytes)
    handle = io.BytesIO(data)
    with _translate_errors("the archive"):
        counted = _precount(handle, limits.entries)
        with zipfile.ZipFile(handle) as zf:
            members = _check_members(zf, handle, counted, limits)
            return _read_members(zf, members, limits)


def _read_members(
    zf: zipfile.ZipFile, members: list[_Member], limits: _Limits
) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    left = limits.total_bytes
    for member in members:
        if member.is_dir:
            continue
        declared = member.info.file_size
        with zf.open(member.info) as source:
            # SECURITY: read at most one byte past what was declared and allowed, so a
            # stream that inflates beyond its declared size is refused, not buffered.
            body = source.read(min(declared, left) + 1)
        if len(body) > declared or len(body) > left:
            name = _shown(member.info.orig_filename)
            raise PackageTooLargeError(f"member {name} unpacks to more than it declares")
        left -= len(body)
        out.append(("/".join(member.parts), body))
    return out


@contextmanager
def _translate_errors(what: str = "the upload") -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _ENVIRONMENT_ERRNOS:
            raise
        # NOTE: strerror only: str(exc) would show the server's temp path.
        reason = exc.strerror or type(exc).__name__
        raise InvalidArchiveError(f"{what} is not a readable ZIP archive: {reason}") from exc
    except _READ_ERRORS as exc:
        raise InvalidArchiveError(f"{what} is not a readable ZIP archive: {exc}") from exc


def _precount(handle: BinaryIO, limit: int) -> int:
    """Count central-directory records without `zipfile`, refusing more than `limit`."""
    declared, start, size = _read_end_record(handle)
    if declared > limit:
        raise PackageTooLargeError(f"the archive has {declared} entries; the limit is {limit}")
    if start < 0:
        raise InvalidArchiveError("the upload is not a ZIP archive: bad central directory offset")
    # SECURITY: the end record's count may lie; walk the records themselves so a
    # huge directory behind a small count is refused before zipfile parses it all.
    handle.seek(start)
    count = position = 0
    while position < size:
        header = handle.read(_CDH.size)
        if len(header) < _CDH.size or not header.startswith(b"PK\x01\x02"):
            raise InvalidArchiveError("the upload is not a ZIP archive: damaged central directory")
        count += 1
        if count > limit:
            raise PackageTooLargeError(
                f"the archive has over {limit} entries; the limit is {limit}"
            )
        fields = _CDH.unpack(header)
        skip = fields[12] + fields[13] + fields[14]
        handle.seek(skip, os.SEEK_CUR)
        position += _CDH.size + skip
    if count != declared:
        raise InvalidArchiveError("the archive's entry count does not match its directory")
    return count


def _read_end_record(handle: BinaryIO) -> tuple[int, int, int]:
    """Return (entry count, central directory start, its size), as `zipfile` reads them."""
    file_size = handle.seek(0, os.SEEK_END)
    tail_start = max(file_size - _EOCD.size - 0xFFFF, 0)
    handle.seek(tail_start)
    tail = handle.read()
    position = len(tail) - _EOCD.size
    if not (tail[position:].startswith(b"PK\x05\x06") and tail.endswith(b"\x00\x00")):
        position = tail.rfind(b"PK\x05\x06")
    if position < 0 or len(tail) - position < _EOCD.size:
        raise InvalidArchiveError("the upload is not a ZIP archive: no end of central directory")
    fields = _EOCD.unpack_from(tail, position)
    location = tail_start + position
    # NOTE: like zipfile, locate the directory from the end record's position, not
    # from its stated offset, so that data prepended to the archive is tolerated.
    count, size = fields[4], fields[5]
    zip64 = _read_zip64_end(handle, location)
    if zip64 is not None:
        count, size = zip64
        location -= _LOCATOR.size + _EOCD64.size
    return count, location - size, size


def _read_zip64_end(handle: BinaryIO, location: int) -> tuple[int, int] | None:
    if location < _LOCATOR.size + _EOCD64.size:
        return None
    handle.seek(location - _LOCATOR.size - _EOCD64.size)
    record, locator = handle.read(_EOCD64.size), handle.read(_LOCATOR.size)
    if not locator.startswith(b"PK\x06\x07") or not record.startswith(b"PK\x06\x06"):
        return None
    fields = _EOCD64.unpack(record)
    return fields[7], fields[8]


def _check_members(
    zf: zipfile.ZipFile, handle: BinaryIO, counted: int, limits: _Limits
) -> list[_Member]:
    infos = zf.infolist()
    if len(infos) != counted:
        raise InvalidArchiveError("the archive's central directory cannot be read consistently")
    members = [_check_member(info) for info in infos]
    _check_collisions(members)
    _check_sizes(members, limits)
    _check_layout(handle, infos, zf.start_dir)
    return members


def _check_member(info: zipfile.ZipInfo) -> _Member:
    name = info.orig_filename
    if info.flag_bits & _ENCRYPTED_FLAGS:
        raise InvalidArchiveError(f"member {_shown(name)} is encrypted")
    if info.compress_type not in _METHODS:
        method = info.compress_type
        raise InvalidArchiveError(f"member {_shown(name)} uses compression method {method}")
    if _has_bare_sentinel(info):
        raise InvalidArchiveError(f"member {_shown(name)} has ZIP64 sizes without ZIP64 data")
    parts, is_dir = _split_name(name)
    _check_type(info, name, is_dir)
    return _Member(info, parts, is_dir)


def _has_bare_sentinel(info: zipfile.ZipInfo) -> bool:
    values = (info.file_size, info.compress_size, info.header_offset)
    if max(values) < _SENTINEL:
        return False
    extra, position = info.extra, 0
    while position + 4 <= len(extra):
        header_id, length = struct.unpack_from("<HH", extra, position)
        if header_id == 1:
            return False
        position += 4 + length
    return True


def member_parts(name: str) -> tuple[tuple[str, ...], bool]:
    """Return the path segments of an archive member name and whether it is a folder.

    Raises:
        UnsafeArchiveError: The name could escape the folder it is extracted into.
    """
    return _split_name(name)


def _split_name(name: str) -> tuple[tuple[str, ...], bool]:
    """Return the path segments of a member name, refusing any name that could escape."""
    shown = _shown(name)
    if not name:
        raise UnsafeArchiveError("the archive has a member without a name")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise UnsafeArchiveError(f"member {shown} has a control character in its name")
    if "\\" in name:
        raise UnsafeArchiveError(f"member {shown} has a backslash in its name")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeArchiveError(f"member {shown} has an absolute path")
    is_dir = name.endswith("/")
    parts = tuple((name[:-1] if is_dir else name).split("/"))
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeArchiveError(f"member {shown} has a '..', '.' or empty path segment")
    if len(parts) > MAX_DEPTH:
        raise UnsafeArchiveError(f"member {shown} is nested deeper than {MAX_DEPTH} folders")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES for part in parts):
        raise UnsafeArchiveError(f"member {shown} has a name segment over 255 bytes")
    return parts, is_dir


def _check_type(info: zipfile.ZipInfo, name: str, is_dir: bool) -> None:
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise UnsafeArchiveError(f"member {_shown(name)} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchiveError(f"member {_shown(name)} is not a regular file or folder")
    # NOTE: a trailing slash makes a folder whatever the mode says, as for unzip.
    if kind == stat.S_IFDIR and not is_dir:
        raise UnsafeArchiveError(f"member {_shown(name)} has a type that contradicts its name")
    if is_dir and info.file_size:
        raise UnsafeArchiveError(f"folder member {_shown(name)} holds data")


def _check_collisions(members: list[_Member]) -> None:
    seen: set[str] = set()
    files: set[str] = set()
    folders: set[str] = set()
    for member in members:
        keys = [_key(member.parts[: index + 1]) for index in range(len(member.parts))]
        if keys[-1] in seen:
            name = _shown(member.info.orig_filename)
            raise UnsafeArchiveError(f"member {name} repeats a name (ignoring case)")
        seen.add(keys[-1])
        (folders if member.is_dir else files).add(keys[-1])
        folders.update(keys[:-1])
    both = files & folders
    if both:
        raise UnsafeArchiveError(f"{_shown(min(both))} is both a file and a folder")


def _key(parts: tuple[str, ...]) -> str:
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


def _check_sizes(members: list[_Member], limits: _Limits) -> None:
    total = 0
    for member in members:
        info, name = member.info, _shown(member.info.orig_filename)
        if limits.file_bytes is not None and info.file_size > limits.file_bytes:
            limit = limits.file_bytes
            raise PackageTooLargeError(f"member {name} unpacks to over {limit} bytes")
        if not _sizes_possible(info):
            raise InvalidArchiveError(f"member {name} declares sizes its data cannot have")
        total += info.file_size
    if total > limits.total_bytes:
        limit = limits.total_bytes
        raise PackageTooLargeError(f"the archive unpacks to {total} bytes; the limit is {limit}")


def _sizes_possible(info: zipfile.ZipInfo) -> bool:
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size == info.file_size
    expanded = info.file_size + info.file_size // 4 + 1024
    return info.compress_size <= expanded and (
        info.file_size <= info.compress_size * _MAX_DEFLATE_RATIO + 1024
    )


def _check_layout(handle: BinaryIO, infos: list[zipfile.ZipInfo], data_end: int) -> None:
    """Check each local header against the directory, and that no two members share data."""
    spans = sorted(_member_span(handle, info, data_end) for info in infos)
    for (_, end, name), (start, _, _) in pairwise(spans):
        if start < end:
            raise UnsafeArchiveError(f"member {_shown(name)} overlaps another member's data")


def _member_span(handle: BinaryIO, info: zipfile.ZipInfo, data_end: int) -> tuple[int, int, str]:
    name = info.orig_filename
    handle.seek(info.header_offset)
    header = handle.read(_LFH.size)
    if len(header) < _LFH.size or not header.startswith(b"PK\x03\x04"):
        raise InvalidArchiveError(f"member {_shown(name)} has no local header")
    fields = _LFH.unpack(header)
    name_length, extra_length = fields[10], fields[11]
    encoding = "utf-8" if info.flag_bits & _UTF8_FLAG else "cp437"
    # SECURITY: tools that read local headers would see another file than we scan.
    if handle.read(name_length) != name.encode(encoding):
        raise UnsafeArchiveError(f"member {_shown(name)} has a different local header name")
    if fields[4] != info.compress_type:
        raise UnsafeArchiveError(f"member {_shown(name)} has a different local header method")
    end = info.header_offset + _LFH.size + name_length + extra_length + info.compress_size
    if end > data_end:
        raise InvalidArchiveError(f"member {_shown(name)} runs into the central directory")
    return info.header_offset, end, name


def _extract_members(
    zf: zipfile.ZipFile, members: list[_Member], dest: Path, limits: _Limits
) -> None:
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = os.path.realpath(dest)
    written = 0
    for member in members:
        folder = _make_dirs(root, member.parts if member.is_dir else member.parts[:-1])
        if not member.is_dir:
            target = os.path.join(folder, member.parts[-1])
            written += _extract_file(zf, member, target, limits.total_bytes - written)


def _make_dirs(root: str, parts: tuple[str, ...]) -> str:
    path = root
    for part in parts:
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            # SECURITY: never go through anything but a real folder we made.
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise UnsafeArchiveError("a member path goes through a file") from None
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise UnsafeArchiveError("a member path leaves the extraction folder")
    return path


def _extract_file(zf: zipfile.ZipFile, member: _Member, target: str, budget: int) -> int:
    """Stream one member into a new file; return the bytes written."""
    declared = member.info.file_size
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    written = 0
    with zf.open(member.info) as source, open(os.open(target, flags, 0o600), "wb") as out:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            # SECURITY: the declared size was checked against the limits; never
            # write a byte past it, whatever the compressed stream holds.
            if written > declared or written > budget:
                name = _shown(member.info.orig_filename)
                raise PackageTooLargeError(f"member {name} unpacks to more than it declares")
            out.write(chunk)
    return written


def _shown(name: str) -> str:
    return repr(name if len(name) <= 100 else name[:100] + "...")
