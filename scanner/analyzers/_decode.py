r"""Undo the encodings and string-building tricks that hide a payload, layer after layer.

Encodings found in text: base64 (standard and URL-safe, also wrapped over several lines),
hex (plain runs, ``\xNN`` and octal escapes in quoted strings, ``0x..`` lists), and
literals handed straight to base85, ascii85, rot13 (``codecs.decode(.., 'rot13')``,
``tr 'A-Za-z' 'N-ZA-Mn-za-m'``, ``str_rot13``) or reversal (``[::-1]``, ``| rev``,
``.split('').reverse().join('')``). String building: character codes (``chr(99)+chr(117)``,
``''.join(map(chr, [..]))``, ``bytes([..])``, ``String.fromCharCode(..)``,
``[char]0x63`` in PowerShell), concatenated literals (``'cu'+'rl'``, JS
``['c','u','r','l'].join('')``), quote-split shell words (``c'u'r"l"``) and variables
holding literal pieces joined in one expression (``a="cu"; b="rl"; eval "$a$b"``).

Each result is unwrapped further: zlib, gzip, bz2 and lzma streams are inflated, and a
readable text that is itself wholly base64, hex or escapes is decoded again, so base64
of zlib of hex comes out as the plain text. Encoded blobs found inside a decoded text
are followed too. Every step counts against a depth bound (`MAX_DEPTH`), and every
decoded byte against a per-blob and a per-file budget.

Media data URIs are skipped; binary results (an image, a font) are kept as bytes for
the YARA packs and are otherwise silent.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import lzma
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from scanner.analyzers._text import FileType

MIN_BLOB_CHARS = 32
MAX_BLOB_CHARS = 1024 * 1024
MAX_BLOBS = 50
MAX_DECODED_BYTES = 256 * 1024
MAX_FILE_DECODED_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 4
MAX_ASSEMBLED_CHARS = 4096
_PRINTABLE_RATIO = 0.9
_NUM = r"(?:0x[0-9a-fA-F]{1,6}|\d{1,7})"

_BASE64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![\w+/=-])")
# Base64 wrapped over lines (MIME, PEM, heredocs, shell continuations): two lines or more.
_WRAPPED_BASE64 = re.compile(
    r"(?<![\w+/=-])[A-Za-z0-9+/]{40,}(?:[ \t]*\\?\n[ \t]*[A-Za-z0-9+/]{16,}){1,4000}"
    r"={0,2}(?![\w+/=-])"
)
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){16,}(?![0-9A-Fa-f])")
_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2}){12,}")
# Three or more ``\xNN`` or octal escapes, a few plain characters apart (linear to match).
_ESCAPE_TOKEN = re.compile(r"\\x[0-9a-fA-F]{2}|\\[0-7]{3}")
_ESCAPE_CLUSTER = re.compile(
    r"(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3})(?:[^\\\"'\n]{0,3}(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3})){2,8192}"
)
_HEX_LIST = re.compile(r"(?:0x[0-9a-fA-F]{1,2}\s*,\s*){3,8192}0x[0-9a-fA-F]{1,2}\b")
_SPLIT_LITERALS = re.compile(r"(?:[\"'][A-Za-z0-9+/=_-]{16,}[\"']\s*(?:\+|,|\\)?\s*){2,}")
_LITERAL_BODY = re.compile(r"[\"']([A-Za-z0-9+/=_-]+)[\"']")
_MEDIA_URI = re.compile(
    r"data:(?:image|font|audio|video|application/(?:pdf|octet-stream|font\S*));base64,\s*$"
)
_CHR_CHAIN = re.compile(
    rf"(?:\bchr\s*\(\s*{_NUM}\s*\)\s*[+.]\s*){{2,4096}}\bchr\s*\(\s*{_NUM}\s*\)", re.IGNORECASE
)
_PS_CHAR_CHAIN = re.compile(
    rf"(?:\[char\]\s*{_NUM}\s*[+,]\s*){{2,4096}}\[char\]\s*{_NUM}", re.IGNORECASE
)
_CODE_LIST = re.compile(
    r"(?:[\"']{2}\s*\.\s*join\s*\(\s*|-join\s*)?"
    r"(?:\bmap\s*\(\s*chr\s*,\s*|\bbytes\s*\(\s*|\bbytearray\s*\(\s*"
    r"|(?:\bString\s*\.\s*)?fromCharCode\s*\(\s*(?:\.\.\.\s*)?|\[char\[\]\]\s*"
    r"|\bchr\s*\(\s*\w+\s*\)\s*for\s+\w+\s+in\s*)[\[(]?\s*"
    rf"((?:{_NUM}\s*,\s*){{2,8192}}{_NUM})\s*,?\s*[\])]?\s*\)?\s*\)?"
    r"(?:\s*\.\s*decode\s*\(\s*(?:[\"'][\w-]{0,20}[\"'])?\s*\))?",
    re.IGNORECASE,
)
_NUMBER = re.compile(_NUM)
# A bare list of sixteen or more small numbers, kept in a variable and decoded elsewhere
# (`const T = [114, 101, ...]; ... String.fromCharCode.apply(null, T)`), or passed to a
# local decoder (`S(99, 117, 114, ...)` with `S = String.fromCharCode`).
_BARE_CODE_LIST = re.compile(
    r"(?<![.\])])[\[(]\s*((?:\d{1,3}\s*,\s*){15,8192}\d{1,3})\s*,?\s*[\])]"
)
_PRINTF_SUBSTITUTION = re.compile(
    r"""(?:\$\(|`)\s*(?:printf|echo\s+-e|echo\s+\$)\s*(?:["']%b["']\s+)?["']?"""
    r"""(?P<body>(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3}|[^"'\\\n)`]){1,4096})["']?\s*(?:\)|`)"""
)
_PLUS_LITERALS = re.compile(
    r"""(["'])([^"'\\\n]{0,200})\1(?:\s*\+\s*(["'])[^"'\\\n]{0,200}\3){1,64}"""
)
_ARRAY_JOIN = re.compile(
    r"""\[\s*((?:(["'])[^"'\\\n]{0,40}\2\s*,\s*){1,256}(["'])[^"'\\\n]{0,40}\3)\s*,?\s*\]"""
    r"""\s*\.join\(\s*(["'])\4\s*\)"""
)
_QUOTED = re.compile(r"""(["'])([^"'\\\n]*)\1""")
_SHELL_SPLIT = re.compile(
    r"""(?<![\w./-])[\w./-]*\w(?:(?:""|''|\\(?=[a-wyzA-Z])|"[\w./-]{1,40}"|'[\w./-]{1,40}')[\w./-]*){1,64}"""
)
_SHELL_QUOTES = re.compile(r"""["'\\]""")
_MAX_VARIABLES = 500
_VALUE = (
    r"""(?:"(?P<v1>[^"\n$`\\]{0,200})"|'(?P<v2>[^'\n]{0,200})'|(?P<v3>[^\s;&|"'$`\\()]{1,200}))"""
)
_SHELL_ASSIGN = re.compile(
    r"(?:^|[;&])[ \t]*(?:(?:export|local|readonly|declare)[ \t]+)?"
    rf"(?P<name>[A-Za-z_]\w{{0,40}})={_VALUE}",
    re.MULTILINE,
)
_SHELL_REF = re.compile(r"\$\{?([A-Za-z_]\w{0,40})\}?")
_SHELL_REFS = re.compile(r"(?:\$\{?[A-Za-z_]\w{0,40}\}?[^\s\"'$;|&`()]{0,40}[ \t]?){2,64}")
_CODE_ASSIGN = re.compile(
    r"""^[ \t]*(?:(?:const|let|var)[ \t]+)?(?P<name>[A-Za-z_]\w{0,40})[ \t]*=[ \t]*"""
    r"""(?:"(?P<v1>[^"\\\n]{0,200})"|'(?P<v2>[^'\\\n]{0,200})'|(?P<v3>(?!)))[ \t]*;?[ \t]*$""",
    re.MULTILINE,
)
_CODE_REFS = re.compile(
    r"""\b[A-Za-z_]\w{0,40}\b(?:[ \t]*\+[ \t]*"""
    r"""(?:[A-Za-z_]\w{0,40}\b|"[^"\\\n]{0,200}"|'[^'\\\n]{0,200}')){1,64}"""
)
_CODE_TOKEN = re.compile(r"""(?P<name>[A-Za-z_]\w*)|["'](?P<literal>[^"'\n]*)["']""")
_REF_NAME = re.compile(r"[A-Za-z_]\w*")
_PYTHON_HINT = re.compile(
    r"^[ \t]*(?:import\s+\w|from\s+\w+\s+import|def\s+\w+\(|class\s+\w+)", re.M
)
_SHELL_HINT = re.compile(
    r"^#!.*\b(?:ba|z|da)?sh\b|\b(?:curl|wget|chmod|echo|export)\s|\|\s*(?:ba)?sh\b", re.M
)
_JS_HINT = re.compile(r"\b(?:require\(|const\s+\w+\s*=|function\s*\w*\(|=>\s*\{)")
_EXECUTABLE = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
_ZLIB_HEADS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_WHOLE_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_WHOLE_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){8,}")


@dataclass(frozen=True)
class Layer:
    """One decoded form of a payload: the decoders applied, the bytes, and text if readable."""

    chain: tuple[str, ...]
    data: bytes
    text: str | None


@dataclass(frozen=True)
class Payload:
    """An encoded or assembled string, where it sits, and every layer it decodes to.

    `assembled` marks string building (character codes, concatenation, reversal): its
    result is a fragment, best judged in place of the expression on its line.
    """

    start: int
    end: int
    layers: tuple[Layer, ...]
    assembled: bool = False


@dataclass
class Budget:
    """What is left to decode in one file."""

    decoded_bytes: int = MAX_FILE_DECODED_BYTES
    blobs: int = MAX_BLOBS * 4

    def take(self, size: int) -> bool:
        """Spend `size` bytes and one blob; return False once the budget is gone."""
        if self.blobs <= 0 or self.decoded_bytes < size:
            return False
        self.blobs -= 1
        self.decoded_bytes -= size
        return True


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    step: str
    data: bytes
    assembled: bool = False


@dataclass
class _Seen:
    values: set[bytes] = field(default_factory=set)

    def first(self, data: bytes) -> bool:
        if data in self.values:
            return False
        self.values.add(data)
        return True


def find_payloads(
    text: str,
    *,
    kind: FileType = FileType.TEXT,
    strings: tuple[tuple[int, str], ...] = (),
    budget: Budget | None = None,
    depth: int = MAX_DEPTH,
) -> list[Payload]:
    """Return every payload of `text` that decodes; `strings` adds (offset, literal) pairs."""
    budget = budget if budget is not None else Budget()
    seen = _Seen()
    payloads: list[Payload] = []
    for candidate in _candidates(text, kind, strings):
        if len(payloads) >= MAX_BLOBS or not seen.first(candidate.data):
            continue
        if not budget.take(len(candidate.data)):
            break
        layers = _unwrap(candidate.data, (candidate.step,), depth - 1, budget)
        # NOTE: only the last layer can hold more blobs; each earlier one decoded whole.
        layers += _nested(layers[-1:], depth, budget)
        if layers:
            payloads.append(Payload(candidate.start, candidate.end, layers, candidate.assembled))
    return payloads


def _nested(layers: tuple[Layer, ...], depth: int, budget: Budget) -> tuple[Layer, ...]:
    """Return the layers of blobs found inside the readable layers, chains prefixed."""
    found: list[Layer] = []
    for layer in layers:
        left = depth - len(layer.chain)
        if layer.text is None or left <= 0:
            continue
        kind = guess_type(layer.text)
        for inner in find_payloads(layer.text, kind=kind, budget=budget, depth=left):
            found += [
                Layer(layer.chain + item.chain, item.data, item.text) for item in inner.layers
            ]
    return tuple(found)


def _unwrap(data: bytes, chain: tuple[str, ...], depth: int, budget: Budget) -> tuple[Layer, ...]:
    """Inflate and re-decode `data` while each step still yields something, within bounds."""
    layers: list[Layer] = []
    for _ in range(MAX_DEPTH + 1):
        inflated = inflate(data) if depth > 0 else None
        if inflated is not None and budget.take(len(inflated[1])):
            chain, data, depth = (*chain, inflated[0]), inflated[1], depth - 1
            continue
        text = readable(data)
        layers.append(Layer(chain, data, text))
        inner = decode_whole(text) if text is not None and depth > 0 else None
        if inner is None or not budget.take(len(inner[1])):
            break
        chain, data, depth = (*chain, inner[0]), inner[1], depth - 1
    return tuple(layers)


def decode_whole(text: str) -> tuple[str, bytes] | None:
    """Return (decoder, bytes) when the whole of `text` is base64, hex or escapes.

    The result must be worth another look: readable text, a compressed stream or an
    executable; anything else (a picture, random bytes) ends the chain.
    """
    value = "".join(text.split())
    if len(value) > MAX_BLOB_CHARS:
        return None
    forms: list[tuple[str, bytes]] = []
    if _ESCAPES.fullmatch(value):
        forms.append(("hex-escapes", _unescape(value)))
    elif _WHOLE_HEX.fullmatch(value):
        forms.append(("hex", bytes.fromhex(value)))
    elif _WHOLE_BASE64.fullmatch(value) and _looks_encoded(value):
        forms += _base64_forms(value)
    for name, raw in forms:
        if readable(raw) is not None or inflate(raw) is not None or raw.startswith(_EXECUTABLE):
            return name, raw
    return None


def _looks_encoded(value: str) -> bool:
    """Return True for base64 with both cases and digits or padding, unlike a plain word."""
    has_digit_or_pad = any(c.isdigit() for c in value) or value.endswith("=")
    return has_digit_or_pad and not value.isalpha() and value.lower() != value


def inflate(raw: bytes) -> tuple[str, bytes] | None:
    """Return (codec, output) when `raw` is a zlib, gzip, bz2 or lzma stream."""
    # SECURITY: every decompressor is capped at MAX_DECODED_BYTES of output (bombs).
    try:
        if raw[:2] in _ZLIB_HEADS or raw[:2] == b"\x1f\x8b":
            wbits = 15 if raw[:2] in _ZLIB_HEADS else 31
            out = zlib.decompressobj(wbits).decompress(raw, MAX_DECODED_BYTES)
            return ("zlib" if wbits == 15 else "gzip", out) if out else None
        if raw[:3] == b"BZh":
            out = bz2.BZ2Decompressor().decompress(raw, MAX_DECODED_BYTES)
            return ("bz2", out) if out else None
        if raw[:6] == b"\xfd7zXZ\x00" or raw[:3] == b"\x5d\x00\x00":
            out = lzma.LZMADecompressor().decompress(raw, MAX_DECODED_BYTES)
            return ("lzma", out) if out else None
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):
        return None
    return None


def readable(raw: bytes) -> str | None:
    """Return `raw` as text when it is UTF-8 and nearly all printable."""
    if len(raw) < 2:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for char in text if char.isprintable() or char in "\n\r\t")
    return text if printable >= len(text) * _PRINTABLE_RATIO else None


def _candidates(
    text: str, kind: FileType, strings: tuple[tuple[int, str], ...]
) -> Iterator[_Candidate]:
    for match in _PRINTF_SUBSTITUTION.finditer(text):
        if _ESCAPE_TOKEN.search(match.group("body")) is None:
            continue
        raw = _unescape(match.group("body"))
        yield _Candidate(match.start(), match.end(), "printf", raw, assembled=True)
    yield from _encoded_candidates(text)
    for offset, value in strings:
        found = decode_whole(value) if MIN_BLOB_CHARS <= len(value) <= MAX_BLOB_CHARS else None
        if found is not None:
            yield _Candidate(offset, offset + len(value), found[0], found[1])
    yield from _explicit_candidates(text)
    yield from _assembled_candidates(text, kind)


def _encoded_candidates(text: str) -> Iterator[_Candidate]:
    covered: list[tuple[int, int]] = []
    for match in _SPLIT_LITERALS.finditer(text):
        joined = "".join(_LITERAL_BODY.findall(match.group()))
        covered.append(match.span())
        yield from _base64_candidate(match.start(), match.end(), joined)
    for match in _WRAPPED_BASE64.finditer(text):
        if not _is_media(text, match.start()):
            covered.append(match.span())
            yield from _base64_candidate(match.start(), match.end(), "".join(match.group().split()))
    for pattern, decoder in ((_BASE64, _base64_candidate), (_HEX, _hex_candidate)):
        for match in pattern.finditer(text):
            if _inside(match.start(), covered) or _is_media(text, match.start()):
                continue
            yield from decoder(match.start(), match.end(), match.group())
    for match in _ESCAPE_CLUSTER.finditer(text):
        start, end = _quoted_span(text, match.start(), match.end())
        yield _Candidate(start, end, "escapes", _unescape(text[start:end]), assembled=True)


def _quoted_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen an escape run to the quoted string around it on its line (linear search)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    left = max(text.rfind('"', line_start, start), text.rfind("'", line_start, start))
    if left < 0:
        return start, end
    right = text.find(text[left], end, line_end)
    if right < 0 or right - left > MAX_ASSEMBLED_CHARS * 4:
        return start, end
    return left + 1, right


def _is_media(text: str, start: int) -> bool:
    return _MEDIA_URI.search(text, max(0, start - 80), start) is not None


def _base64_candidate(start: int, end: int, value: str) -> Iterator[_Candidate]:
    if not MIN_BLOB_CHARS <= len(value) <= MAX_BLOB_CHARS or _WHOLE_HEX.fullmatch(value):
        return
    for name, raw in _base64_forms(value):
        yield _Candidate(start, end, name, raw)
        return


def _hex_candidate(start: int, end: int, value: str) -> Iterator[_Candidate]:
    if len(value) <= MAX_BLOB_CHARS:
        yield _Candidate(start, end, "hex", bytes.fromhex(value))


def _base64_forms(value: str) -> Iterator[tuple[str, bytes]]:
    padded = value + "=" * (-len(value) % 4)
    decoders = (("base64", base64.b64decode), ("base64url", base64.urlsafe_b64decode))
    for name, decoder in decoders:
        if name == "base64" and ("-" in value or "_" in value):
            continue
        try:
            yield name, decoder(padded)
        except (binascii.Error, ValueError):
            continue


def _inside(offset: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in spans)


def _unescape(value: str) -> bytes:
    r"""Return the bytes of a string body with ``\xNN``, octal and C escapes resolved."""
    out = bytearray()
    pos = 0
    for match in re.finditer(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)", value, re.DOTALL):
        out += value[pos : match.start()].encode("utf-8")
        code = match.group(1)
        if code[0] == "x":
            out.append(int(code[1:], 16))
        elif code.isdigit():
            out.append(int(code, 8) & 0xFF)
        else:
            out += {"n": b"\n", "t": b"\t", "r": b"\r", "0": b"\0"}.get(code, code.encode())
        pos = match.end()
    out += value[pos:].encode("utf-8")
    return bytes(out)


def _explicit_candidates(text: str) -> Iterator[_Candidate]:
    lowered = text.lower()
    for pattern, step, decoder, assembled, hint in _EXPLICIT:
        if hint not in lowered:
            continue
        for match in pattern.finditer(text):
            try:
                raw = decoder(match.group("body"))
            except (ValueError, binascii.Error):
                continue
            yield _Candidate(match.start(), match.end(), step, raw, assembled)
    if "[::-1]" in text or ".reverse(" in text:
        yield from _reversed_candidates(text)


def _reversed_candidates(text: str) -> Iterator[_Candidate]:
    """Yield quoted literals followed by a reversal, found from the reversal backwards."""
    for count, match in enumerate(_REVERSAL_SUFFIX.finditer(text)):
        if count >= MAX_BLOBS:
            return
        end = match.start()
        quote = text[end - 1] if end > 0 else ""
        if quote not in ("'", '"'):
            continue
        line_start = text.rfind("\n", max(0, end - MAX_ASSEMBLED_CHARS), end - 1) + 1
        start = text.rfind(quote, max(line_start, end - MAX_ASSEMBLED_CHARS), end - 1)
        if start >= 0 and end - start > 4:
            body = text[start + 1 : end - 1]
            yield _Candidate(start, match.end(), "reversed", _reverse(body), True)


def _assembled_candidates(text: str, kind: FileType) -> Iterator[_Candidate]:
    lowered = text.lower()
    for pattern, step, decoder, hints in _BUILDERS:
        if not any(hint in lowered for hint in hints):
            continue
        for match in pattern.finditer(text):
            raw = decoder(match)
            if raw is not None and len(raw) <= MAX_ASSEMBLED_CHARS:
                yield _Candidate(match.start(), match.end(), step, raw, assembled=True)
    if kind is FileType.SHELL:
        for match in _SHELL_SPLIT.finditer(text):
            word = _SHELL_QUOTES.sub("", match.group())
            yield _Candidate(match.start(), match.end(), "shell-quotes", word.encode(), True)
    yield from _variable_candidates(text, kind)


def _variable_candidates(text: str, kind: FileType) -> Iterator[_Candidate]:
    """Yield expressions that join two or more variables holding short literals."""
    if kind is FileType.SHELL:
        assign, refs, step = _SHELL_ASSIGN, _SHELL_REFS, "shell-variables"
    elif kind in (FileType.PYTHON, FileType.JAVASCRIPT):
        assign, refs, step = _CODE_ASSIGN, _CODE_REFS, "variables"
    else:
        return
    values: dict[str, str] = {}
    for match in assign.finditer(text):
        if len(values) >= _MAX_VARIABLES:
            break
        values[match.group("name")] = next(
            g for g in match.group("v1", "v2", "v3") if g is not None
        )
    if len(values) < 2:
        return
    for match in refs.finditer(text):
        names = _REF_NAME.findall(match.group())
        if sum(1 for name in names if name in values) < 2:
            continue
        built = _substitute(match.group(), values, kind)
        yield _Candidate(match.start(), match.end(), step, built.encode(), assembled=True)


def _substitute(expression: str, values: dict[str, str], kind: FileType) -> str:
    if kind is FileType.SHELL:
        return _SHELL_REF.sub(lambda m: values.get(m.group(1), m.group()), expression)
    pieces = []
    for token in _CODE_TOKEN.finditer(expression):
        name, literal = token.group("name"), token.group("literal")
        pieces.append(values.get(name, "") if name else literal or "")
    return "".join(pieces)


def _codes(match: re.Match[str]) -> bytes | None:
    numbers = [int(n, 0) for n in _NUMBER.findall(match.group(1))]
    if any(n > 0x10FFFF for n in numbers):
        return None
    return "".join(map(chr, numbers)).encode("utf-8", "replace")


def _printable_codes(match: re.Match[str]) -> bytes | None:
    """Decode a bare number list only when it spells text: printable codes, mostly letters."""
    numbers = [int(n) for n in _NUMBER.findall(match.group(1))]
    if not all(n in (9, 10, 13) or 32 <= n < 127 for n in numbers):
        return None
    text = "".join(map(chr, numbers))
    wordy = sum(1 for char in text if char.isalpha() or char == " ")
    return text.encode("ascii") if wordy * 2 >= len(text) else None


def _chained_codes(match: re.Match[str]) -> bytes | None:
    numbers = [int(n, 0) for n in re.findall(r"[(\]]\s*(" + _NUM + ")", match.group())]
    if any(n > 0x10FFFF for n in numbers):
        return None
    return "".join(map(chr, numbers)).encode("utf-8", "replace")


def _joined_literals(match: re.Match[str]) -> bytes | None:
    pieces = [body for _, body in _QUOTED.findall(match.group())]
    return "".join(pieces).encode("utf-8") if len(pieces) >= 2 else None


def _array_join(match: re.Match[str]) -> bytes | None:
    return "".join(body for _, body in _QUOTED.findall(match.group(1))).encode("utf-8")


def _hex_list(match: re.Match[str]) -> bytes | None:
    return bytes(int(n, 16) for n in re.findall(r"0x(\w+)", match.group()))


def _rot13(value: str) -> bytes:
    return codecs.encode(value, "rot13").encode("utf-8")


def _reverse(value: str) -> bytes:
    return value[::-1].encode("utf-8")


_BUILDERS: tuple[
    tuple[re.Pattern[str], str, Callable[[re.Match[str]], bytes | None], tuple[str, ...]], ...
] = (
    (_CHR_CHAIN, "char-codes", _chained_codes, ("chr",)),
    (_PS_CHAR_CHAIN, "char-codes", _chained_codes, ("[char]",)),
    (_CODE_LIST, "char-codes", _codes, ("chr", "bytes", "bytearray", "fromcharcode", "[char[]]")),
    (_BARE_CODE_LIST, "char-codes", _printable_codes, ("[", "(")),
    (_HEX_LIST, "hex-list", _hex_list, ("0x",)),
    (_PLUS_LITERALS, "concatenation", _joined_literals, ("+",)),
    (_ARRAY_JOIN, "array-join", _array_join, (".join(",)),
)
_BODY = r"(?P<body>[^\"'\n]{4,2048})"
_EXPLICIT: tuple[tuple[re.Pattern[str], str, Callable[[str], bytes], bool, str], ...] = (
    (re.compile(rf"b85decode\(\s*b?[\"']{_BODY}[\"']"), "base85", base64.b85decode, False, "b85"),
    (re.compile(rf"a85decode\(\s*b?[\"']{_BODY}[\"']"), "ascii85", base64.a85decode, False, "a85"),
    (
        re.compile(rf"\becho\s+(?:-n\s+)?[\"']?{_BODY}[\"']?\s*\|\s*rev\b"),
        "reversed",
        _reverse,
        True,
        "rev",
    ),
    (re.compile(rf"\brev\s*<<<\s*[\"']{_BODY}[\"']"), "reversed", _reverse, True, "rev"),
    (
        re.compile(rf"codecs\.(?:de|en)code\(\s*[\"']{_BODY}[\"']\s*,\s*[\"']rot.?13"),
        "rot13",
        _rot13,
        True,
        "rot",
    ),
    (re.compile(rf"\bstr_rot13\(\s*[\"']{_BODY}[\"']"), "rot13", _rot13, True, "str_rot13"),
    (
        re.compile(
            rf"\becho\s+(?:-n\s+)?[\"']?{_BODY}[\"']?\s*\|\s*tr\s+[\"']?\[?A-Za-z\]?[\"']?\s+"
            r"[\"']?\[?N-ZA-Mn-za-m"
        ),
        "rot13",
        _rot13,
        True,
        "n-za-m",
    ),
)
# Reversal written after the literal: found from the suffix, the literal read backwards.
_REVERSAL_SUFFIX = re.compile(
    r"""\s*\)?\s*\[::-1\]|\s*\.split\(\s*(?:""|'')\s*\)\s*\.reverse\(\s*\)"""
)


_ADJACENT_LITERALS = re.compile(
    r"""(["'])([^"'\\\n]{0,200})\1(?:[ \t]*(["'])[^"'\\\n]{0,200}\3){1,64}"""
)
_PS_WORD = re.compile(r"""\(\s*["']([\w-]{1,40})["']\s*\)""")
_SHELL_QUOTING = re.compile(r"""\$(?=')|["']|\\(?=\w)""")


def fold_line(line: str, kind: FileType) -> str:
    """Return a line with literal concatenations joined and, in shell, quotes removed."""
    if kind is FileType.SHELL:
        return _SHELL_QUOTING.sub("", line)
    line = _PLUS_LITERALS.sub(_joined_quoted, line)
    if kind is FileType.POWERSHELL:
        line = _PS_WORD.sub(r"\1", line)
    if kind is FileType.PYTHON:
        line = _ADJACENT_LITERALS.sub(_joined_quoted, line)
    return line


def _joined_quoted(match: re.Match[str]) -> str:
    return '"' + "".join(body for _, body in _QUOTED.findall(match.group())) + '"'


def guess_type(text: str) -> FileType:
    """Return the most likely file type of decoded text."""
    if _PYTHON_HINT.search(text):
        return FileType.PYTHON
    if _SHELL_HINT.search(text):
        return FileType.SHELL
    if _JS_HINT.search(text):
        return FileType.JAVASCRIPT
    return FileType.TEXT
