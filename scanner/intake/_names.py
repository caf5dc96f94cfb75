"""Turn file names from disk into text that is safe to show and unambiguous."""

from __future__ import annotations

import os


def escape_name(name: str | bytes) -> tuple[str, bool]:
    r"""Return a file name as printable text, and whether anything was escaped.

    Bytes that are not UTF-8 become ``\xNN``; control, invisible and look-alike space
    characters become ``\xNN``, ``\uNNNN`` or ``\UNNNNNNNN``. When anything is
    escaped, backslashes are doubled so that an escaped name never reads as another's.
    """
    raw = os.fsencode(name)
    text = raw.decode("utf-8", "surrogateescape")
    if not any(_is_unsafe(char) for char in text):
        return text, False
    return "".join(_escape_char(char) for char in text), True


def _is_unsafe(char: str) -> bool:
    # NOTE: not printable means control, format (bidi overrides, zero-width, tag
    # characters), surrogate, private-use, unassigned, and separators other than
    # the ASCII space (no-break and other look-alike spaces included).
    return char != " " and not char.isprintable()


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        # NOTE: surrogateescape maps each undecodable byte 0xNN to U+DCNN.
        return f"\\x{code - 0xDC00:02x}"
    if char == "\\":
        return "\\\\"
    if not _is_unsafe(char):
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
