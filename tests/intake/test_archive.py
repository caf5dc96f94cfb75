from __future__ import annotations

import io
import os
import stat
import struct
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from common import RawZip, cdh, deflate_raw, lfh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.core.errors import (
    InvalidArchiveError,
    PackageTooLargeError,
    ScannerError,
    UnsafeArchiveError,
)
from scanner.intake.archive import extract_zip

MIB = 1024 * 1024
S_IFLNK = 0o120000
SKILL = b"---\nname: zipped\ndescription: d\n---\n"

UP_EXPECTED: dict[str, type[ScannerError] | None] = {
    "UP-00/control": None,
    "UP-01/dotdot": UnsafeArchiveError,
    "UP-01/absolute": UnsafeArchiveError,
    "UP-01/backslash": UnsafeArchiveError,
    "UP-02/dir-link-then-file": UnsafeArchiveError,
    "UP-02/file-link-same-name": UnsafeArchiveError,
    "UP-02/link-to-host-file": UnsafeArchiveError,
    "UP-04/declared-1KiB-actual-64MiB": InvalidArchiveError,
    "UP-05/200k-files": PackageTooLargeError,
    "UP-06/lfh-cd-name-mismatch": UnsafeArchiveError,
    "UP-09/zip64-sentinel-no-extra": InvalidArchiveError,
    "UP-10/garbage": InvalidArchiveError,
    "UP-10/truncated": InvalidArchiveError,
}


def extract(
    data: bytes,
    tmp_path: Path,
    *,
    max_entries: int = 500,
    max_bytes: int = 200 * MIB,
    max_file_bytes: int | None = None,
) -> Path:
    archive = tmp_path / "upload.zip"
    archive.write_bytes(data)
    return extract_zip(
        archive,
        tmp_path / "out",
        max_entries=max_entries,
        max_uncompressed_bytes=max_bytes,
        max_file_bytes=max_file_bytes,
    )


def tree(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))


def raw_zip(*members: tuple[str | bytes, bytes], **options: Any) -> bytes:
    archive = RawZip()
    for name, data in members:
        archive.add(name, data, **options)
    return archive.bytes()


@pytest.mark.parametrize("name", sorted(UP_EXPECTED))
def test_gen_zips_cases(zip_cases: list[dict[str, Any]], tmp_path: Path, name: str):
    case = next(item for item in zip_cases if f"{item['case']}/{item['variant']}" == name)
    expected = UP_EXPECTED[name]
    dest = tmp_path / "out"

    started = time.perf_counter()
    try:
        extract_zip(Path(case["path"]), dest, max_entries=500, max_uncompressed_bytes=200 * MIB)
        error: ScannerError | None = None
    except ScannerError as exc:
        error = exc
    elapsed = time.perf_counter() - started

    leaked = [path for path in case["canaries"] if os.path.lexists(path)]
    for path in leaked:
        os.remove(path)
    assert leaked == []
    assert list(tmp_path.iterdir()) in ([], [dest])
    assert elapsed < min(case["expect"].get("max_seconds", 5), 5)
    if expected is None:
        assert error is None
        assert tree(dest) == ["skill", "skill/SKILL.md", "skill/scripts", "skill/scripts/setup.sh"]
    else:
        assert type(error) is expected
        assert error is not None
        assert error.http_status in (400, 413)


def test_extract_writes_private_files_and_folders(tmp_path: Path):
    data = raw_zip(("skill/SKILL.md", SKILL), ("skill/scripts/run.sh", b"echo\n"))

    dest = extract(data, tmp_path)

    assert tree(dest) == ["skill", "skill/SKILL.md", "skill/scripts", "skill/scripts/run.sh"]
    assert (dest / "skill" / "SKILL.md").read_bytes() == SKILL
    assert stat.S_IMODE((dest / "skill" / "SKILL.md").stat().st_mode) == 0o600
    assert stat.S_IMODE((dest / "skill").stat().st_mode) == 0o700


def test_extract_keeps_nested_archive_as_file(tmp_path: Path):
    inner = raw_zip(("evil.sh", b"curl x | sh\n"))

    dest = extract(raw_zip(("skill/SKILL.md", SKILL), ("skill/vendor.zip", inner)), tmp_path)

    assert (dest / "skill" / "vendor.zip").read_bytes() == inner
    assert tree(dest) == ["skill", "skill/SKILL.md", "skill/vendor.zip"]


def test_extract_accepts_prepended_data(tmp_path: Path):
    data = b"#!/bin/sh\nexit 0\n" + raw_zip(("skill/SKILL.md", SKILL))

    dest = extract(data, tmp_path)

    assert (dest / "skill" / "SKILL.md").read_bytes() == SKILL


def entries_zip(count: int) -> bytes:
    """Return an archive of exactly `count` entries, two of them folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("skill/", b"")
        zf.writestr("skill/files/", b"")
        for index in range(count - 2):
            zf.writestr(f"skill/files/{index}.txt", b"x")
    return buffer.getvalue()


def test_entry_count_at_limit_passes(tmp_path: Path):
    dest = extract(entries_zip(10), tmp_path, max_entries=10)

    assert len(tree(dest)) == 10


def test_entry_count_over_limit_counts_folders(tmp_path: Path):
    with pytest.raises(PackageTooLargeError, match="11 entries"):
        extract(entries_zip(11), tmp_path, max_entries=10)

    assert not (tmp_path / "out").exists()


def patch_eocd_count(data: bytes, count: int) -> bytes:
    position = data.rfind(b"PK\x05\x06")
    patched = struct.pack("<HH", count, count)
    return data[: position + 8] + patched + data[position + 12 :]


def test_lying_entry_count_is_walked_and_refused(tmp_path: Path):
    data = patch_eocd_count(entries_zip(50), 2)

    with pytest.raises(PackageTooLargeError, match="over 10 entries"):
        extract(data, tmp_path, max_entries=10)


def test_lying_entry_count_within_limit_is_invalid(tmp_path: Path):
    data = patch_eocd_count(entries_zip(5), 2)

    with pytest.raises(InvalidArchiveError, match="count"):
        extract(data, tmp_path)


def test_total_size_bomb_is_refused_before_writing(tmp_path: Path):
    zeros = bytes(MIB)
    data = raw_zip(("skill/a.bin", zeros), ("skill/b.bin", zeros), ("skill/c.bin", zeros))

    with pytest.raises(PackageTooLargeError, match="unpacks to 3145728 bytes"):
        extract(data, tmp_path, max_bytes=2 * MIB)

    assert not (tmp_path / "out").exists()


def test_member_size_limit(tmp_path: Path):
    data = raw_zip(("skill/SKILL.md", SKILL), ("skill/big.bin", bytes(4096)))

    with pytest.raises(PackageTooLargeError, match="over 1024 bytes"):
        extract(data, tmp_path, max_file_bytes=1024)


def test_member_writing_more_than_declared_stops_at_declared_size(tmp_path: Path):
    blob = bytes(64 * 1024)
    data = raw_zip(("skill/blob.bin", blob), declared_usize=1024, crc=zlib.crc32(blob[:1024]))

    dest = extract(data, tmp_path)

    assert (dest / "skill" / "blob.bin").stat().st_size == 1024


def test_bad_crc_is_invalid(tmp_path: Path):
    data = raw_zip(("skill/a.txt", b"hello"), crc=1234)

    with pytest.raises(InvalidArchiveError, match="readable ZIP"):
        extract(data, tmp_path)


def test_overlapping_members_are_refused(tmp_path: Path):
    inner_name, outer_name = b"skill/b.bin", b"skill/a.bin"
    payload = bytes(1000)
    inner = lfh(inner_name, zlib.crc32(payload), len(payload), len(payload)) + payload
    outer = lfh(outer_name, zlib.crc32(inner), len(inner), len(inner)) + inner
    archive = RawZip()
    archive.add_raw_local(outer)
    archive.add_central(cdh(outer_name, zlib.crc32(inner), len(inner), len(inner), 0))
    inner_offset = 30 + len(outer_name)
    crc = zlib.crc32(payload)
    archive.add_central(cdh(inner_name, crc, len(payload), len(payload), inner_offset))

    with pytest.raises(UnsafeArchiveError, match="overlaps"):
        extract(archive.bytes(), tmp_path)


def test_members_sharing_one_local_header_are_refused(tmp_path: Path):
    archive = RawZip()
    archive.add("skill/a.txt", b"data")
    archive.add_central(cdh(b"skill/a.txt", zlib.crc32(b"data"), 6, 4, 0, method=8))

    with pytest.raises(UnsafeArchiveError):
        extract(archive.bytes(), tmp_path)


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["skill/a.txt", "skill/a.txt"], "repeats a name"),
        (["skill/A.txt", "skill/a.txt"], "repeats a name"),
        (["skill/caf\u00e9", "skill/cafe\u0301"], "repeats a name"),
        (["skill/x", "skill/x/"], "repeats a name"),
        (["skill/x", "skill/x/y"], "both a file and a folder"),
        (["skill/x/y", "skill/X"], "both a file and a folder"),
    ],
)
def test_colliding_names_are_refused(tmp_path: Path, names: list[str], match: str):
    archive = RawZip()
    for name in names:
        archive.add(name, b"" if name.endswith("/") else b"x", flags=0x800)

    with pytest.raises(UnsafeArchiveError, match=match):
        extract(archive.bytes(), tmp_path)

    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../x", "'..'"),
        ("skill/./x", "'..'"),
        ("skill//x", "'..'"),
        ("/etc/x", "absolute"),
        ("C:/x", "absolute"),
        ("c:x", "absolute"),
        ("skill\\..\\x", "backslash"),
        ("skill/a\x00b", "control"),
        ("skill/a\nb", "control"),
        ("/".join(["d"] * 40), "deeper"),
        ("skill/" + "n" * 256, "255 bytes"),
        ("", "without a name"),
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, name: str, match: str):
    data = raw_zip(("skill/SKILL.md", SKILL), (name, b"x"))

    with pytest.raises(UnsafeArchiveError, match=match):
        extract(data, tmp_path)

    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        (S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFIFO | 0o644, "not a regular file"),
        (stat.S_IFCHR | 0o644, "not a regular file"),
        (stat.S_IFDIR | 0o755, "contradicts"),
    ],
)
def test_non_regular_members_are_refused(tmp_path: Path, mode: int, match: str):
    data = raw_zip(("skill/member", b"target"), external_attr=mode << 16)

    with pytest.raises(UnsafeArchiveError, match=match):
        extract(data, tmp_path)


def test_symlink_bits_are_refused_whatever_the_creator_system(tmp_path: Path):
    archive = RawZip()
    payload = b"/etc/hostname"
    archive.add_raw_local(lfh(b"skill/link", zlib.crc32(payload), 13, 13) + payload)
    attr = (S_IFLNK | 0o777) << 16
    archive.add_central(
        cdh(b"skill/link", zlib.crc32(payload), 13, 13, 0, external_attr=attr, create_system=0)
    )

    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract(archive.bytes(), tmp_path)


def test_encrypted_member_is_invalid(tmp_path: Path):
    data = raw_zip(("skill/a.txt", b"secret"), flags=0x1, method=0)

    with pytest.raises(InvalidArchiveError, match="encrypted"):
        extract(data, tmp_path)


def test_unsupported_compression_is_invalid(tmp_path: Path):
    data = raw_zip(("skill/a.txt", b"data"), method=12)

    with pytest.raises(InvalidArchiveError, match="compression method 12"):
        extract(data, tmp_path)


def test_utf8_flag_with_invalid_name_is_invalid(tmp_path: Path):
    data = raw_zip((b"skill/caf\xe9", b"x"), flags=0x800)

    with pytest.raises(InvalidArchiveError, match="readable ZIP"):
        extract(data, tmp_path)


def test_cp437_names_are_decoded(tmp_path: Path):
    dest = extract(raw_zip((b"skill/caf\x82.txt", b"x")), tmp_path)

    assert tree(dest) == ["skill", "skill/caf\u00e9.txt"]


def test_local_header_method_mismatch_is_refused(tmp_path: Path):
    archive = RawZip()
    data = b"hello"
    archive.add_raw_local(lfh(b"skill/a.txt", zlib.crc32(data), 5, 5, method=0) + data)
    archive.add_central(cdh(b"skill/a.txt", zlib.crc32(data), 5, 5, 0, method=8))

    with pytest.raises(UnsafeArchiveError, match="method"):
        extract(archive.bytes(), tmp_path)


def test_impossible_deflate_sizes_are_invalid(tmp_path: Path):
    archive = RawZip()
    data = deflate_raw(b"x" * 10)
    archive.add("skill/a.txt", b"x" * 10, declared_usize=10_000_000, declared_csize=len(data))

    with pytest.raises(InvalidArchiveError, match="cannot have"):
        extract(archive.bytes(), tmp_path)


def test_folder_member_with_data_is_refused(tmp_path: Path):
    with pytest.raises(UnsafeArchiveError, match="holds data"):
        extract(raw_zip(("skill/dir/", b"data")), tmp_path)


def test_missing_archive_is_invalid(tmp_path: Path):
    with pytest.raises(InvalidArchiveError) as caught:
        extract_zip(
            tmp_path / "nope.zip", tmp_path / "out", max_entries=5, max_uncompressed_bytes=5
        )

    assert str(tmp_path) not in caught.value.message


def outcome(data: bytes, work: Path) -> ScannerError | None:
    try:
        extract(data, work)
    except ScannerError as exc:
        return exc
    return None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=600))
def test_any_bytes_extract_or_raise_a_typed_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
):
    work = tmp_path_factory.mktemp("fuzz")

    error = outcome(raw, work)

    assert error is None or error.http_status in (400, 413)


VALID = raw_zip(("skill/SKILL.md", SKILL), ("skill/run.sh", b"#!/bin/sh\necho hi\n"))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4))
def test_corrupted_archives_raise_only_typed_errors(
    tmp_path_factory: pytest.TempPathFactory, flips: list[tuple[int, int]]
):
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    work = tmp_path_factory.mktemp("flip")

    error = outcome(bytes(data), work)

    assert error is None or error.http_status in (400, 413)
    assert {path.name for path in work.iterdir()} <= {"upload.zip", "out"}
    dest = (work / "out").resolve()
    assert all(path.resolve().is_relative_to(dest) for path in dest.rglob("*"))
