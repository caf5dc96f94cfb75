r"""Find encoded blobs in text and decode them, so their content can be scanned too.

Base64 (standard and URL-safe, optionally zlib- or gzip-compressed), hex runs and
``\xNN`` escape runs are decoded when the result is readable text. Pieces split over
several adjacent string literals are joined first. Media data URIs are skipped.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from scanner.analyzers._text import FileType

MIN_BLOB_CHARS = 32
MAX_BLOB_CHARS = 1024 * 1024
MAX_BLOBS = 50
MAX_DECODED_BYTES = 256 * 1024
_PRINTABLE_RATIO = 0.9

_BASE64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![\w+/=-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])")
_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2}){12,}")
_SPLIT_LITERALS = re.compile(
    r"(?:[\"'][A-Za-z0-9+/=_-]{16,}[\"']\s*(?:\+|,|\\)?\s*){2,}",
)
_LITERAL_BODY = re.compile(r"[\"']([A-Za-z0-9+/=_-]+)[\"']")
_MEDIA_URI = re.compile(
    r"data:(?:image|font|audio|video|application/(?:pdf|octet-stream|font\S*));base64,$"
)
_PYTHON_HINT = re.compile(
    r"^[ \t]*(?:import\s+\w|from\s+\w+\s+import|def\s+\w+\(|class\s+\w+)", re.M
)
_SHELL_HINT = re.compile(
    r"^#!.*\b(?:ba|z|da)?sh\b|\b(?:curl|wget|chmod|echo|export)\s|\|\s*(?:ba)?sh\b", re.M
)
_JS_HINT = re.compile(r"\b(?:require\(|const\s+\w+\s*=|function\s*\w*\(|=>\s*\{)")
_ZLIB_HEADS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


@dataclass(frozen=True)
class Blob:
    """An encoded string and where it starts."""

    start: int
    value: str


@dataclass(frozen=True)
class DecodedBlob:
    """Readable text recovered from a blob."""

    start: int
    encoding: str
    text: str


def explicit_decodes(text: str) -> list[DecodedBlob]:
    """Decode literals passed straight to a decoder: base85, ascii85, rot13, reversal."""
    found: list[DecodedBlob] = []
    for pattern, encoding, decoder in _EXPLICIT:
        for match in pattern.finditer(text):
            try:
                raw = decoder(match.group(1))
            except (ValueError, binascii.Error):
                continue
            decoded = _readable(raw)
            if decoded is not None:
                found.append(DecodedBlob(match.start(), encoding, decoded))
            if len(found) >= MAX_BLOBS:
                return found
    return found


def _rot13(value: str) -> bytes:
    return codecs.encode(value, "rot13").encode("utf-8")


def _reverse(value: str) -> bytes:
    return value[::-1].encode("utf-8")


def _b85(value: str) -> bytes:
    return base64.b85decode(value)


def _a85(value: str) -> bytes:
    return base64.a85decode(value)


_EXPLICIT: tuple[tuple[re.Pattern[str], str, Callable[[str], bytes]], ...] = (
    (re.compile(r"b85decode\(\s*b?[\"']([^\"'\n]{20,})[\"']"), "base85", _b85),
    (re.compile(r"a85decode\(\s*b?[\"']([^\"'\n]{20,})[\"']"), "ascii85", _a85),
    (re.compile(r"[\"']([^\"'\n]{20,})[\"']\s*\)?\s*\[::-1\]"), "reversed", _reverse),
    (
        re.compile(r"codecs\.(?:de|en)code\(\s*[\"']([^\"'\n]{20,})[\"']\s*,\s*[\"']rot.?13"),
        "rot13",
        _rot13,
    ),
    (re.compile(r"\becho\s+[\"']([^\"'\n]{20,})[\"']\s*\|\s*rev\b"), "reversed", _reverse),
    (
        re.compile(
            r"\becho\s+[\"']([^\"'\n]{20,})[\"']\s*\|\s*tr\s+[\"']?\[?A-Za-z\]?[\"']?\s+[\"']?\[?N-ZA-Mn-za-m"
        ),
        "rot13",
        _rot13,
    ),
)


def find_blobs(text: str) -> list[Blob]:
    """Return candidate blobs of a text, split literals joined, media URIs skipped."""
    blobs: list[Blob] = []
    covered: list[tuple[int, int]] = []
    for match in _SPLIT_LITERALS.finditer(text):
        joined = "".join(_LITERAL_BODY.findall(match.group()))
        blobs.append(Blob(match.start(), joined))
        covered.append(match.span())
    for pattern in (_BASE64, _HEX, _ESCAPES):
        for match in pattern.finditer(text):
            start = match.start()
            if _inside(start, covered) or _MEDIA_URI.search(text, max(0, start - 80), start):
                continue
            blobs.append(Blob(start, match.group()))
            if len(blobs) >= MAX_BLOBS:
                return blobs
    return blobs


def _inside(offset: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in spans)


def decode_blobs(blobs: Iterable[Blob]) -> Iterator[DecodedBlob]:
    """Yield the blobs that decode to readable text."""
    seen: set[str] = set()
    for blob in blobs:
        value = blob.value.strip()
        if value in seen or not MIN_BLOB_CHARS <= len(value) <= MAX_BLOB_CHARS:
            continue
        seen.add(value)
        decoded = decode_text(value)
        if decoded is not None:
            yield DecodedBlob(blob.start, decoded[0], decoded[1])


def decode_text(value: str) -> tuple[str, str] | None:
    """Return (encoding, text) when `value` decodes to readable text."""
    for encoding, raw in _candidates(value):
        inflated = _inflate(raw)
        if inflated is not None:
            encoding, raw = encoding + "+zlib", inflated
        text = _readable(raw)
        if text is not None:
            return encoding, text
    return None


def _candidates(value: str) -> Iterator[tuple[str, bytes]]:
    if value.startswith("\\x"):
        yield "hex-escapes", bytes(int(value[i + 2 : i + 4], 16) for i in range(0, len(value), 4))
        return
    if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value):
        yield "hex", bytes.fromhex(value)
    padded = value + "=" * (-len(value) % 4)
    for name, decoder in (("base64", base64.b64decode), ("base64url", base64.urlsafe_b64decode)):
        try:
            yield name, decoder(padded)
        except (binascii.Error, ValueError):
            continue


def _inflate(raw: bytes) -> bytes | None:
    if raw[:2] in _ZLIB_HEADS:
        wbits = 15
    elif raw[:2] == b"\x1f\x8b":
        wbits = 31
    else:
        return None
    try:
        inflater = zlib.decompressobj(wbits)
        return inflater.decompress(raw, MAX_DECODED_BYTES)
    except zlib.error:
        return None


def _readable(raw: bytes) -> str | None:
    if len(raw) < 8:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for char in text if char.isprintable() or char in "\n\r\t")
    return text if printable >= len(text) * _PRINTABLE_RATIO else None


def guess_type(text: str) -> FileType:
    """Return the most likely file type of decoded text."""
    if _PYTHON_HINT.search(text):
        return FileType.PYTHON
    if _SHELL_HINT.search(text):
        return FileType.SHELL
    if _JS_HINT.search(text):
        return FileType.JAVASCRIPT
    return FileType.TEXT
