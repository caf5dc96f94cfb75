"""Find macros and remote targets in Office documents, OOXML (ZIP) and OLE2 alike.

OOXML (``.docx``, ``.xlsm``...) is read with the upload ZIP reader and its limits;
macros are a ``vbaProject.bin`` part or a macro-enabled content type, remote targets
are relationships with ``TargetMode="External"`` that load a template, an OLE object,
a frame or a sub-document from elsewhere (plain hyperlinks are normal). OLE2 compound
files (``.doc``, ``.xls``) are read by a small parser of the directory alone: macro
storages and streams (``VBA``, ``_VBA_PROJECT``, ``Macros``) are named there. Every
sector chain is bounded by the file size and checked for loops.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_DIRECTORY_ENTRIES = 10_000
MAX_RELATIONSHIPS = 2_000
_MACRO_STREAMS = frozenset({"vba", "_vba_project", "_vba_project_cur", "macros", "vbaproject"})
_EMBEDDED_STREAMS = frozenset({"\x01ole10native", "ole10native"})
_MACRO_CONTENT = re.compile(rb"macroEnabled|vbaProject|ms-office\.activeX", re.IGNORECASE)
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]{0,4096}>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""\b(Type|Target|TargetMode)\s*=\s*["']([^"']{0,2048})["']""")
_DDE = re.compile(rb"\bDDE(?:AUTO)?\b", re.IGNORECASE)
_REMOTE_TYPES = ("attachedTemplate", "oleObject", "frame", "subDocument", "externalLinkPath")
_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE


@dataclass
class OfficeReport:
    """Macros, remote targets and embedded objects found in one document."""

    macros: list[str] = field(default_factory=list)
    remote_targets: list[dict[str, str]] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)
    dde: bool = False
    malformed: str | None = None


def read_ooxml(members: list[tuple[str, bytes]]) -> OfficeReport:
    """Return the macros and remote relationship targets of an OOXML package's parts."""
    report = OfficeReport()
    for name, body in members:
        lower = name.lower()
        if lower.endswith("vbaproject.bin") or lower.endswith("vbadata.xml"):
            report.macros.append(name)
        elif lower == "[content_types].xml" and _MACRO_CONTENT.search(body):
            report.macros.append(f"{name}: macro-enabled content type")
        elif lower.endswith(".rels"):
            report.remote_targets += _external_targets(name, body)
        elif lower.endswith(".xml") and b"instrText" in body and _DDE.search(body):
            report.dde = True
        if lower.endswith(".bin") and body.startswith(OLE_MAGIC) and "vbaproject" not in lower:
            report.embedded.append(name)
    return report


def _external_targets(part: str, body: bytes) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for match in _RELATIONSHIP.finditer(body):
        if len(found) >= MAX_RELATIONSHIPS:
            break
        pairs = _ATTRIBUTE.findall(match.group())
        attrs = {key.decode(): value.decode("utf-8", "replace") for key, value in pairs}
        if attrs.get("TargetMode", "").lower() != "external":
            continue
        kind = attrs.get("Type", "").rsplit("/", 1)[-1]
        if kind == "hyperlink":
            continue
        found.append({"part": part, "type": kind, "target": attrs.get("Target", "")[:300]})
    return found


def is_remote(target: dict[str, str]) -> bool:
    """Return True for a relationship that fetches content from another machine."""
    where = target["target"].lower()
    fetched = where.startswith(("http:", "https:", "ftp:", "file:", "\\\\", "//"))
    return fetched and target["type"] in _REMOTE_TYPES


def read_ole(data: bytes) -> OfficeReport:
    """Return the macro storages and embedded objects named in an OLE2 directory."""
    report = OfficeReport()
    try:
        names = ole_names(data)
    except ValueError as exc:
        report.malformed = str(exc)
        return report
    report.macros = sorted({n for n in names if n.lower() in _MACRO_STREAMS})
    report.embedded = sorted({n for n in names if n.lower() in _EMBEDDED_STREAMS})
    return report


def ole_names(data: bytes) -> list[str]:
    """Return the names of every storage and stream of an OLE2 compound file.

    Raises:
        ValueError: The header, allocation table or directory chain is damaged.
    """
    if not data.startswith(OLE_MAGIC) or len(data) < 512:
        raise ValueError("not an OLE2 compound file")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError(f"unsupported OLE2 sector size 2^{shift}")
    size = 1 << shift
    fat = _read_fat(data, size)
    first_dir = struct.unpack_from("<I", data, 0x30)[0]
    names: list[str] = []
    for sector in _chain(fat, first_dir, data, size):
        base = (sector + 1) * size
        for offset in range(base, base + size, 128):
            names += _entry_name(data[offset : offset + 128])
        if len(names) > MAX_DIRECTORY_ENTRIES:
            raise ValueError("the OLE2 directory has too many entries")
    return names


def _read_fat(data: bytes, size: int) -> list[int]:
    count = struct.unpack_from("<I", data, 0x2C)[0]
    sectors = len(data) // size
    if count > sectors:
        raise ValueError("the OLE2 allocation table is larger than the file")
    difat = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _END_OF_CHAIN]
    fat: list[int] = []
    # NOTE: only the header's 109 table sectors are read (files up to ~7 MiB with
    # 512-byte sectors); a longer table leaves later sectors unknown, not misread.
    for sector in difat[:count]:
        start = (sector + 1) * size
        if start + size > len(data):
            raise ValueError("an OLE2 allocation sector lies past the end of the file")
        fat += struct.unpack_from(f"<{size // 4}I", data, start)
    return fat


def _chain(fat: list[int], first: int, data: bytes, size: int) -> list[int]:
    chain: list[int] = []
    seen: set[int] = set()
    sector = first
    limit = len(data) // size + 1
    while sector not in (_END_OF_CHAIN, _FREE):
        if sector in seen or len(chain) > limit or sector >= len(fat):
            raise ValueError("the OLE2 directory chain is damaged or loops")
        if (sector + 2) * size > len(data):
            raise ValueError("the OLE2 directory lies past the end of the file")
        seen.add(sector)
        chain.append(sector)
        sector = fat[sector]
    return chain


def _entry_name(entry: bytes) -> list[str]:
    if len(entry) < 128 or entry[66] == 0:
        return []
    length = struct.unpack_from("<H", entry, 64)[0]
    if not 2 <= length <= 64:
        return []
    return [entry[: length - 2].decode("utf-16-le", "replace")]
