r"""Decide what a file is from its bytes: its type by magic number, and its text if any.

Text is decoded so that one stray byte never hides the rest of a file: valid UTF-8
(with or without a BOM) and BOM-marked UTF-16/32 decode exactly; other bytes that
still look like text decode as UTF-8 with U+FFFD for each invalid sequence, and
the encoding is then reported as ``<codec>-lossy``. Line breaks are kept as they
are in the file (``\n``, ``\r\n`` or ``\r``).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from scanner.core.models import FileKind

LOSSY_SUFFIX = "-lossy"

# Bytes that do not occur in text: C0 controls except tab, LF, VT, FF, CR, BS and ESC.
_TEXT_BYTES = bytes([8, 9, 10, 11, 12, 13, 27, *range(32, 256)])
_BINARY_CHARS = re.compile("[\x00-\x07\x0e-\x1a\x1c-\x1f]")
_CONTROL_CHARS = "".join(chr(code) for code in range(32) if _BINARY_CHARS.match(chr(code)))
# NOTE: a few binary-looking bytes are tolerated so one NUL cannot turn a script into
# "binary" and hide it from the text analyzers (bash skips NUL bytes and runs the rest).
_MAX_BINARY_BYTES = 8
_MAX_BINARY_RATIO = 0.01
# Decoded text is binary data when this share of it is control characters that text
# never holds: random or compressed bytes give about a tenth, executables more (NULs).
_NOT_TEXT_RATIO = 0.05
_NOT_TEXT_MIN_CHARS = 16

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_SCRIPT_SUFFIXES = frozenset(
    {
        ".sh", ".bash", ".zsh", ".ksh", ".fish", ".py", ".pyw", ".js", ".mjs", ".cjs",
        ".ts", ".tsx", ".jsx", ".rb", ".pl", ".pm", ".php", ".ps1", ".psm1", ".bat",
        ".cmd", ".lua", ".r", ".go", ".rs", ".java", ".kt", ".swift", ".c", ".h",
        ".cc", ".cpp", ".md", ".txt", ".json", ".yaml", ".yml", ".toml", ".ini",
        ".cfg", ".env", ".html", ".htm", ".xml", ".svg", ".csv", ".sql", ".vbs",
        ".applescript", ".scpt", ".tcl", ".awk", ".sed", ".mk", ".dockerfile",
    }
)  # fmt: skip

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "elf"),
    (b"\xfe\xed\xfa\xce", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"),
    (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"\x00asm", "wasm"),
    (b"#!", "script"),
)

# Types whose files are never plain text, so a failed text test is expected of them.
BINARY_TYPES = frozenset(kind for _, kind in _MAGIC if kind != "script") | {
    "bzip2",
    "pe",
    "java_class",
    "pyc",
    "pickle",
    "webp",
}


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, and the codec used (``-lossy`` when bytes were replaced)."""

    text: str
    encoding: str

    @property
    def lossy(self) -> bool:
        """Return True when invalid bytes were replaced by U+FFFD."""
        return self.encoding.endswith(LOSSY_SUFFIX)


@dataclass(frozen=True)
class Content:
    """What the loader learnt from a file's bytes."""

    kind: FileKind
    detected_type: str
    decoded: Decoded | None


def decode_text(raw: bytes, *, final: bool = True) -> Decoded:
    """Decode bytes as text without ever failing.

    Args:
        raw: The bytes, possibly only a prefix of the file.
        final: False when ``raw`` is a truncated prefix: an incomplete multi-byte
            sequence at its end is then dropped instead of replaced.
    """
    exact = decode_exact(raw, final=final)
    if exact is not None:
        return exact
    codec = _codec(raw)
    return Decoded(_decode(raw, codec, "replace", final), codec + LOSSY_SUFFIX)


def decode_exact(raw: bytes, *, final: bool = True) -> Decoded | None:
    """Decode bytes as text when they decode without a single error, else return None."""
    codec = _codec(raw)
    try:
        return Decoded(_decode(raw, codec, "strict", final), codec)
    except UnicodeDecodeError:
        return None


def _codec(raw: bytes) -> str:
    return next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")


def _decode(raw: bytes, codec: str, errors: str, final: bool) -> str:
    decoder = codecs.getincrementaldecoder(codec)(errors)
    return decoder.decode(raw, final=final)


def detect_type(head: bytes) -> str | None:
    """Return the file type named by the leading magic bytes, or None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"\xca\xfe\xba\xbe") and len(head) >= 8:
        # NOTE: Mach-O fat binaries and Java classes share this magic; a fat binary
        # then holds a small architecture count, a class file its version (>= 45).
        return "macho" if int.from_bytes(head[4:8], "big") < 45 else "java_class"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BZh") and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bzip2"
    if len(head) >= 16 and head[2:4] == b"\r\n" and _is_pyc_magic(head):
        return "pyc"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if _is_pe(head):
        return "pe"
    return None


def _is_pyc_magic(head: bytes) -> bool:
    magic = int.from_bytes(head[0:2], "little")
    # CPython 3.x magic numbers lie in 3000-3999; 62211 and 62161 are 2.7 and 2.6.
    return 3000 <= magic < 4000 or magic in (62211, 62161)


def _is_pe(head: bytes) -> bool:
    if not head.startswith(b"MZ") or len(head) < 64:
        return False
    offset = int.from_bytes(head[60:64], "little")
    return head[offset : offset + 4] == b"PE\x00\x00"


def classify(raw: bytes, *, name: str, truncated: bool, force_text: bool = False) -> Content:
    """Return the kind, detected type and text of a file.

    Args:
        raw: The bytes read (a prefix when ``truncated``).
        name: The file name, used only to recognise scripts by extension.
        truncated: Whether ``raw`` is only a prefix of the file.
        force_text: Decode as text whatever the bytes look like (SKILL.md).
    """
    magic = detect_type(raw[:4096])
    exact = decode_exact(raw, final=not truncated)
    is_clean = exact is not None and _BINARY_CHARS.search(exact.text) is None
    if magic in BINARY_TYPES and not is_clean and not force_text:
        # NOTE: no lossy decode for a binary: it keeps no text, and decoding megabytes
        # of image bytes with replacement characters was most of the loader's time.
        return Content(FileKind.BINARY, magic, None)
    decoded = exact if exact is not None else decode_text(raw, final=not truncated)
    # SECURITY: a script keeps its text even with odd bytes in it, so a stray byte
    # or a NUL cannot hide the payload below it from the text analyzers.
    is_script = magic == "script" or _suffix(name) in _SCRIPT_SUFFIXES
    if force_text or is_clean or is_script or _looks_textual(raw, decoded):
        return Content(FileKind.TEXT, magic or "text", decoded)
    return Content(FileKind.BINARY, magic or "data", None)


def is_binary_text(text: str) -> bool:
    """Return True when decoded text is binary data: many control characters text never holds.

    Files kept as text whatever their bytes (SKILL.md, scripts) use this to tell a
    text file with a few stray bytes from binary data under a text name. Replacement
    characters do not count: text in a legacy encoding (GBK, Latin-1) is full of them.
    """
    # NOTE: counted with str.count, not findall: binary data of megabytes would make
    # a list of hundreds of thousands of matches in a memory-limited worker.
    controls = sum(text.count(char) for char in _CONTROL_CHARS)
    return controls >= _NOT_TEXT_MIN_CHARS and controls >= len(text) * _NOT_TEXT_RATIO


def _suffix(name: str) -> str:
    name = name.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _looks_textual(raw: bytes, decoded: Decoded) -> bool:
    if decoded.encoding.startswith(("utf-16", "utf-32")):
        bad = len(_BINARY_CHARS.findall(decoded.text))
        size = len(decoded.text)
    else:
        bad = len(raw.translate(None, _TEXT_BYTES))
        size = len(raw)
    return bad <= _MAX_BINARY_BYTES or bad <= size * _MAX_BINARY_RATIO
