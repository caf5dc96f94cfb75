"""Build small PDF, Office, OLE2, image, archive and bytecode inputs in code for the tests."""

from __future__ import annotations

import io
import marshal
import struct
import tarfile
import zipfile
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def png(after: bytes = b"") -> bytes:
    raw = b"".join(b"\x00" + b"\x10\x20\x30" * 4 for _ in range(4))
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + png_chunk(b"tEXt", b"Comment\x00IEND is the last chunk")
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
        + after
    )


def jpeg(after: bytes = b"") -> bytes:
    """Return a JPEG-shaped file whose EXIF segment holds a thumbnail with its own EOI."""
    thumbnail = b"\xff\xd8\xff\xdb\x00\x04\x00\x00\xff\xd9"
    app1 = b"Exif\x00\x00" + thumbnail
    sos_header = b"\x01\x01\x00\x00\x3f\x00"
    entropy = b"\x12\x34\xff\x00\x56\xff\xd0\x78\x9a"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xe1"
        + struct.pack(">H", len(app1) + 2)
        + app1
        + b"\xff\xda"
        + struct.pack(">H", len(sos_header) + 2)
        + sos_header
        + entropy
        + b"\xff\xd9"
        + after
    )


def gif(after: bytes = b"") -> bytes:
    screen = struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    comment = b"\x21\xfe\x05hello\x00"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + comment + image + b"\x3b" + after


def pdf(*objects: bytes, eof: bool = True) -> bytes:
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for number, obj in enumerate(objects, start=1):
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    body += b"trailer\n<< /Root 1 0 R >>\nstartxref\n0\n"
    return body + (b"%%EOF\n" if eof else b"")


def flate_stream(content: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(content)
    head = b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(packed), extra)
    return head + packed + b"\nendstream"


def zip_bytes(members: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def set_zip_flag(data: bytes, flag: int) -> bytes:
    """Set a general-purpose flag bit in every local and central header of a ZIP."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = out.find(signature)
        while start >= 0:
            value = struct.unpack_from("<H", out, start + offset)[0] | flag
            struct.pack_into("<H", out, start + offset, value)
            start = out.find(signature, start + 4)
    return bytes(out)


CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
MACRO_CONTENT_TYPES = CONTENT_TYPES.replace(
    "wordprocessingml.document.main+xml", "ms-word.document.macroEnabled.main+xml"
)
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def relationships(*items: tuple[str, str, bool]) -> str:
    rows = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/{kind}" Target="{target}"'
        + (' TargetMode="External"' if external else "")
        + "/>"
        for i, (kind, target, external) in enumerate(items, start=1)
    )
    return (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships">{rows}</Relationships>'
    )


def docx(extra: dict[str, str | bytes] | None = None, *, macro: bool = False) -> bytes:
    members: dict[str, str | bytes] = {
        "[Content_Types].xml": MACRO_CONTENT_TYPES if macro else CONTENT_TYPES,
        "word/document.xml": "<w:document><w:body><w:p>Quarterly notes</w:p></w:body></w:document>",
        "word/_rels/document.xml.rels": relationships(
            ("hyperlink", "https://docs.example.com/guide", True),
            ("styles", "styles.xml", False),
        ),
    }
    members.update(extra or {})
    return zip_bytes(members)


def ole(names: list[tuple[str, int]], *, fat_sector: int = 0) -> bytes:
    """Return a compound file whose directory lists `names` (type 1 storage, 2 stream)."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 0x2C, 1, 1, 0, 4096)
    struct.pack_into("<IIII", header, 0x3C, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    difat = [fat_sector] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 0x4C, *difat)
    fat = [0xFFFFFFFD, 0xFFFFFFFE] + [0xFFFFFFFF] * 126
    entries = b"".join(_ole_entry(name, kind) for name, kind in [("Root Entry", 5), *names])
    directory = entries.ljust(512 * ((len(entries) + 511) // 512), b"\x00")
    if len(directory) > 512:
        fat[1] = 2
        fat[2] = 0xFFFFFFFE
    return bytes(header) + struct.pack("<128I", *fat) + directory


def _ole_entry(name: str, kind: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    entry = bytearray(128)
    entry[: len(encoded)] = encoded
    struct.pack_into("<HBB", entry, 64, len(encoded), kind, 1)
    struct.pack_into("<III", entry, 68, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    return bytes(entry)


def foreign_pyc(strings: list[str], magic: int = 3531) -> bytes:
    """Return bytecode stamped for another Python release, holding these strings."""
    body = b"".join(b"\xfa" + bytes([len(s)]) + s.encode() for s in strings)
    return struct.pack("<H", magic) + b"\r\n" + b"\x00" * 12 + b"\xe3" + body


def current_pyc_of(code: object) -> bytes:
    """Return bytecode of this interpreter for a code object, with an unchecked header."""
    import importlib.util

    return importlib.util.MAGIC_NUMBER + b"\x00" * 12 + marshal.dumps(code)
