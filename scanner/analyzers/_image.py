"""Find where a PNG, JPEG or GIF really ends, and say what is appended after it.

Viewers stop at the image's end marker (PNG ``IEND``, JPEG ``EOI``, GIF trailer), so
bytes after it are invisible in a preview: the classic place to hide an archive, a
script or a binary in a file that looks like a picture. Each parser walks the format's
own structure (chunk lengths, segment lengths, sub-blocks) with a bounded number of
steps, so a thumbnail inside EXIF data never passes for the end of the image.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from scanner.intake._content import detect_type

MAX_STEPS = 100_000
# A few bytes of padding (newlines, spaces, NULs) after the end marker are common.
MAX_PADDING = 16
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CODE_TYPES = frozenset({"elf", "pe", "macho", "pyc", "pickle", "java_class", "wasm", "script"})
_ARCHIVE_TYPES = frozenset({"zip", "gzip", "xz", "7z", "rar", "bzip2"})
_SHELL_OR_URL = re.compile(
    rb"(?:https?|ftp)://|\b(?:curl|wget|bash|sh\s+-c|powershell|eval|exec|base64|chmod|nc|"
    rb"python3?\s+-c|import\s+os|subprocess)\b|<script|<\?php",
    re.IGNORECASE,
)
_TEXT = re.compile(rb"[\t\n\r\x20-\x7e]+")


@dataclass(frozen=True)
class Trailer:
    """Data found after an image's end marker."""

    offset: int
    size: int
    kind: str
    """`executable`-like type from magic (`elf`, `zip`...), `text-active`, `text` or `data`."""


def image_end(data: bytes, kind: str) -> int | None:
    """Return the offset just past the image's end marker, or None when not found."""
    if kind == "png":
        return _png_end(data)
    if kind == "jpeg":
        return _jpeg_end(data)
    if kind == "gif":
        return _gif_end(data)
    return None


def find_trailer(data: bytes, kind: str) -> Trailer | None:
    """Return what follows the end of the image, ignoring a little padding."""
    end = image_end(data, kind)
    if end is None or end >= len(data):
        return None
    rest = data[end:]
    kind = classify_trailer(rest)
    if kind in ("text", "data") and len(rest.strip(b" \t\r\n\x00")) <= MAX_PADDING:
        return None
    return Trailer(end, len(rest), kind)


def classify_trailer(rest: bytes) -> str:
    """Name what appended bytes are: a type by magic, active text, text or data."""
    head = rest.lstrip(b" \t\r\n\x00")
    found = detect_type(head[:4096])
    if found in _CODE_TYPES | _ARCHIVE_TYPES:
        return found
    if b"PK\x03\x04" in rest[:65536]:
        return "zip"
    printable = sum(len(m.group()) for m in _TEXT.finditer(head[:65536]))
    if head and printable >= 0.9 * min(len(head), 65536):
        return "text-active" if _SHELL_OR_URL.search(head[:65536]) else "text"
    return "data"


def _png_end(data: bytes) -> int | None:
    if not data.startswith(_PNG_SIGNATURE):
        return None
    position = len(_PNG_SIGNATURE)
    for _ in range(MAX_STEPS):
        if position + 8 > len(data):
            return None
        length, kind = struct.unpack_from(">I4s", data, position)
        position += 12 + length
        if kind == b"IEND":
            return position if position <= len(data) else None
    return None


def _jpeg_end(data: bytes) -> int | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    position = 2
    for _ in range(MAX_STEPS):
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return None
        marker = data[position + 1]
        if marker == 0xD9:
            return position + 2
        if marker in (0x00, 0xFF) or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            # NOTE: stuffed bytes, fill bytes and restart markers carry no length.
            position += 1 if marker == 0xFF else 2
            continue
        if position + 4 > len(data):
            return None
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def _gif_end(data: bytes) -> int | None:
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 13:
        return None
    position = 13 + _color_table(data[10])
    for _ in range(MAX_STEPS):
        if position >= len(data):
            return None
        block = data[position]
        if block == 0x3B:
            return position + 1
        if block == 0x21:
            position = _skip_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 10 <= len(data):
            position += 10 + _color_table(data[position + 9])
            position = _skip_sub_blocks(data, position + 1)
        else:
            return None
        if position < 0:
            return None
    return None


def _color_table(packed: int) -> int:
    return 3 * (2 ** ((packed & 0x07) + 1)) if packed & 0x80 else 0


def _skip_sub_blocks(data: bytes, position: int) -> int:
    """Return the offset after a chain of GIF sub-blocks, or -1 when it runs off the end."""
    for _ in range(MAX_STEPS):
        if position >= len(data):
            return -1
        size = data[position]
        position += 1 + size
        if size == 0:
            return position
    return -1
