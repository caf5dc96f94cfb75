"""Find active content in a PDF: scripts, launch actions, attachments, links to raw IPs.

The file is not rendered or fully parsed. Its bytes, and the inflated bytes of its
FlateDecode streams (object streams hide dictionaries there), are searched for the
names that make a PDF act: ``/JavaScript``, ``/JS``, ``/Launch``, ``/EmbeddedFile``,
``/OpenAction`` and ``/AA`` (run on open or on an event), ``/URI``. Names are read
with their ``#xx`` escapes decoded, so ``/J#61vaScript`` is ``/JavaScript``.
Inflation is bounded per stream, in total and in stream count.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_STREAMS = 2_000
MAX_STREAM_OUTPUT = 2 * 1024 * 1024
MAX_TOTAL_OUTPUT = 16 * 1024 * 1024
MAX_URIS = 200
_ACTIVE_NAMES = frozenset(
    {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "OpenAction", "AA",
     "SubmitForm", "ImportData", "RichMedia", "GoToR", "GoToE"}
)  # fmt: skip
# PDF names end at white space or a delimiter; `#xx` escapes any byte inside a name.
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]{1,127})")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")
_END = re.compile(rb"endstream")
_URI = re.compile(rb"/URI\s*(?:\(((?:\\.|[^\\)]){0,2048})\)|<([0-9A-Fa-f\s]{0,4096})>)")
_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


@dataclass
class PdfReport:
    """What active content a PDF holds, and whether it looked like a PDF at all."""

    names: dict[str, int] = field(default_factory=dict)
    uris: list[str] = field(default_factory=list)
    streams: int = 0
    inflated: int = 0
    inflate_errors: int = 0
    malformed: str | None = None

    @property
    def runs_script_on_open(self) -> bool:
        """Return True when JavaScript is present with an action run on open or on events."""
        has_script = bool(self.names.get("JavaScript") or self.names.get("JS"))
        return has_script and bool(self.names.get("OpenAction") or self.names.get("AA"))

    @property
    def ip_uris(self) -> list[str]:
        """Return the link targets whose host is a raw IP address."""
        return [uri for uri in self.uris if _is_ip_host(uri)]


def read_pdf(data: bytes, *, truncated: bool = False) -> PdfReport:
    """Return the active-content names and links of the PDF in `data`; never raise."""
    report = PdfReport()
    chunks = [data, *_inflated_streams(data, report)]
    for chunk in chunks:
        _collect(_decode_names(chunk), report)
    if not truncated:
        report.malformed = _malformation(data)
    return report


def _inflated_streams(data: bytes, report: PdfReport) -> list[bytes]:
    out: list[bytes] = []
    budget = MAX_TOTAL_OUTPUT
    view = memoryview(data)
    # NOTE: stream ends are found once, so many stream keywords cost linear time.
    ends = [m.start() for m in _END.finditer(data)]
    for match in _STREAM.finditer(data):
        if report.streams >= MAX_STREAMS or budget <= 0:
            break
        start = match.end()
        if data[start : start + 1] != b"\x78":
            continue
        report.streams += 1
        index = bisect.bisect_left(ends, start)
        end = ends[index] if index < len(ends) else len(data)
        # SECURITY: max_length caps what one stream may inflate to (a deflate bomb
        # turns kilobytes into gigabytes), and the running budget caps the sum.
        try:
            plain = zlib.decompressobj().decompress(view[start:end], min(budget, MAX_STREAM_OUTPUT))
        except zlib.error:
            report.inflate_errors += 1
            continue
        budget -= len(plain)
        report.inflated += len(plain)
        out.append(plain)
    return out


def _decode_names(chunk: bytes) -> bytes:
    if b"#" not in chunk:
        return chunk
    return _NAME.sub(lambda m: b"/" + _ESCAPE.sub(_unescape, m.group(1)), chunk)


def _unescape(match: re.Match[bytes]) -> bytes:
    return bytes([int(match.group(1), 16)])


def _collect(chunk: bytes, report: PdfReport) -> None:
    for match in _NAME.finditer(chunk):
        name = match.group(1).decode("latin-1")
        if name in _ACTIVE_NAMES:
            report.names[name] = report.names.get(name, 0) + 1
    for match in _URI.finditer(chunk):
        if len(report.uris) >= MAX_URIS:
            return
        report.uris.append(_uri_text(match))


def _uri_text(match: re.Match[bytes]) -> str:
    literal, hexed = match.group(1), match.group(2)
    if hexed is not None:
        digits = re.sub(rb"\s", b"", hexed)
        raw = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
    else:
        raw = re.sub(rb"\\(.)", rb"\1", literal or b"")
    return raw.decode("latin-1")[:500]


def _is_ip_host(uri: str) -> bool:
    try:
        host = urlsplit(uri.strip()).hostname or ""
    except ValueError:
        return False
    if host.isdigit() or re.fullmatch(r"0x[0-9a-f]+", host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _malformation(data: bytes) -> str | None:
    if _OBJECT.search(data) is None:
        return "no PDF object found"
    if b"%%EOF" not in data[-2048:]:
        return "no end-of-file marker (truncated or damaged)"
    return None
