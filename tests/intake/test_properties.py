"""Properties of intake over generated hostile input: typed errors, confinement, determinism.

test_archive.py feeds raw and bit-flipped bytes to `extract_zip`; here archives are
built member by member from hostile names, types and methods, then optionally
spliced, and everything outside the extraction folder is checked untouched.
test_loader.py feeds flat folders to `load_package`; here trees are nested and
hold symlinks and FIFOs aimed at a canary outside the root.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeAlias

import pytest
from common import RawZip
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scanner.core.errors import ScannerError
from scanner.core.models import SkillPackage
from scanner.intake.archive import extract_zip
from scanner.intake.loader import load_package
from scanner.settings import Settings

HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
UTF8_FLAG = 0x0800
MODES = {
    "file": stat.S_IFREG | 0o644,
    "folder": stat.S_IFDIR | 0o755,
    "symlink": stat.S_IFLNK | 0o777,
    "fifo": stat.S_IFIFO | 0o644,
    "none": 0,
}
SKILL_MD = b"---\nname: generated\ndescription: d\n---\n# Body\n"


# --- extract_zip -------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    method: int
    kind: str


safe_segment = st.one_of(
    st.sampled_from(["a", "A", "skill", "SKILL.md", "scripts", "\u00e9", "e\u0301", "~", ".git"]),
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc"], exclude_characters="/\\"),
        min_size=1,
        max_size=6,
    ),
)
hostile_segment = st.sampled_from(["..", ".", "", "C:", "x\\y", "\x01", "\x7f", "a" * 256])
# NOTE: mostly safe segments, so that a good share of the archives get extracted.
segment = st.one_of(safe_segment, safe_segment, safe_segment, hostile_segment)
member_name = st.builds(
    lambda lead, parts, trail: lead + "/".join(parts) + trail,
    st.sampled_from(["", "", "", "", "", "/"]),
    st.lists(segment, min_size=1, max_size=4),
    st.sampled_from(["", "", "/"]),
)
members = st.lists(
    st.builds(
        Member,
        member_name,
        st.binary(max_size=64),
        st.sampled_from([0, 8]),
        st.sampled_from(["file", "file", "file", "none", "folder", "symlink", "fifo"]),
    ),
    min_size=1,
    max_size=5,
)
splice = st.none() | st.tuples(st.integers(min_value=0), st.binary(max_size=8))


def build_zip(entries: list[Member]) -> bytes:
    archive = RawZip()
    for member in entries:
        flags = 0 if member.name.isascii() else UTF8_FLAG
        archive.add(
            member.name.encode("utf-8", "surrogatepass"),
            member.data,
            method=member.method,
            flags=flags,
            external_attr=MODES[member.kind] << 16,
        )
    return archive.bytes()


def spliced(data: bytes, cut: tuple[int, bytes] | None) -> bytes:
    if cut is None:
        return data
    position, blob = cut[0] % (len(data) + 1), cut[1]
    return data[:position] + blob + data[position + len(blob) :]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Return every path under `root` with file contents, links not followed."""
    found: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            regular = path.is_file() and not path.is_symlink()
            found[str(path.relative_to(root))] = path.read_bytes() if regular else None
    return found


def check_extracted(dest: Path, entries: list[Member], *, intact: bool) -> None:
    resolved = dest.resolve()
    for path in dest.rglob("*"):
        assert not path.is_symlink()
        assert path.is_dir() or path.is_file()
        assert path.resolve().is_relative_to(resolved)
    if not intact:
        return
    for member in entries:
        target = dest / member.name
        if member.name.endswith("/"):
            assert target.is_dir()
        else:
            assert target.read_bytes() == member.data


def attempt(archive: Path, dest: Path) -> ScannerError | None:
    """Extract with small limits; return the typed error, letting any other one through."""
    try:
        result = extract_zip(archive, dest, max_entries=20, max_uncompressed_bytes=4096)
    except ScannerError as exc:
        return exc
    assert result == dest
    return None


@HYPOTHESIS
@given(members, splice)
def test_built_archives_extract_inside_dest_or_raise_typed_errors(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[Member],
    cut: tuple[int, bytes] | None,
):
    work = tmp_path_factory.mktemp("zip")
    (work / "in").mkdir()
    (work / "box").mkdir()
    archive = work / "in" / "upload.zip"
    archive.write_bytes(spliced(build_zip(entries), cut))
    dest = work / "box" / "out"
    before = snapshot(work)

    error = attempt(archive, dest)

    after = snapshot(work)
    outside = {key: value for key, value in after.items() if key.split("/")[:2] != ["box", "out"]}
    assert outside == before
    event(f"refused: {error.code}" if error else "extracted")
    if error is not None:
        assert error.http_status in (400, 413)
    else:
        check_extracted(dest, entries, intact=cut is None)


# --- load_package ------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    target: str | bytes


@dataclass(frozen=True)
class Fifo:
    pass


Node: TypeAlias = "bytes | Link | Fifo | dict[bytes, Node]"

name = st.one_of(
    st.sampled_from([b"SKILL.md", b"skill.md", b"scripts", b".git", b"run.sh", b"..."]),
    st.binary(min_size=1, max_size=12).filter(
        lambda raw: b"/" not in raw and b"\x00" not in raw and raw not in (b".", b"..")
    ),
)
# Symbolic targets are resolved when the tree is written: CANARY and OUTSIDE are
# absolute paths outside the root, UP climbs out of it relatively.
link_target = st.one_of(
    st.sampled_from(["CANARY", "OUTSIDE", "UP", "..", ".", "/", "SKILL.md", "missing"]),
    st.binary(min_size=1, max_size=16).filter(lambda raw: b"\x00" not in raw),
)
content = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.just(SKILL_MD),
)
leaf = st.one_of(content, st.builds(Link, link_target), st.just(Fifo()))
trees = st.dictionaries(
    name,
    st.recursive(leaf, lambda children: st.dictionaries(name, children, max_size=4), max_leaves=8),
    max_size=5,
)


def resolve_target(target: str | bytes, outside: Path, depth: int) -> bytes:
    named = {
        "CANARY": outside / "canary.txt",
        "OUTSIDE": outside,
        "UP": Path(*[".."] * (depth + 1), outside.name, "canary.txt"),
    }
    if isinstance(target, bytes):
        return target
    return os.fsencode(named.get(target, target))


def write_tree(folder: Path, tree: dict[bytes, Node], outside: Path, depth: int = 0) -> None:
    for raw_name, node in tree.items():
        path = os.path.join(os.fsencode(folder), raw_name)
        if isinstance(node, dict):
            os.mkdir(path)
            write_tree(Path(os.fsdecode(path)), node, outside, depth + 1)
        elif isinstance(node, Link):
            os.symlink(resolve_target(node.target, outside, depth), path)
        elif isinstance(node, Fifo):
            os.mkfifo(path)
        else:
            with open(path, "wb") as handle:
                handle.write(node)


def regular_file_hashes(root: Path) -> set[str]:
    hashes = set()
    for folder, _, files in os.walk(root):
        for file_name in files:
            path = Path(folder, file_name)
            if path.is_file() and not path.is_symlink():
                hashes.add(hashlib.sha256(path.read_bytes()).hexdigest())
    return hashes


def make_outside(work: Path) -> tuple[Path, str]:
    outside = work / "outside"
    outside.mkdir()
    canary = f"canary-{uuid.uuid4().hex}"
    (outside / "canary.txt").write_text(canary + "\n")
    (outside / "SKILL.md").write_text(f"---\nname: {canary}\n---\n{canary}\n")
    return outside, canary


def check_package(package: SkillPackage, root: Path, canary: str) -> None:
    for item in package.files:
        parts = PurePosixPath(item.path).parts
        assert not item.path.startswith("/")
        assert parts
        assert not {"..", ".", ""} & set(item.path.split("/"))
        assert canary not in (item.text or "")
        assert canary.encode() not in (item.data or b"")
    assert {item.sha256 for item in package.files} <= regular_file_hashes(root)
    assert canary not in package.name
    for entry in package.skipped:
        if entry.reason != "outside_skill_folder":
            assert ".." not in entry.path.split("/")


@HYPOTHESIS
@given(trees)
def test_generated_trees_load_confined_and_deterministic(
    tmp_path_factory: pytest.TempPathFactory,
    tree: dict[bytes, Node],
):
    work = tmp_path_factory.mktemp("tree")
    outside, canary = make_outside(work)
    root = work / "skill"
    root.mkdir()
    write_tree(root, tree, outside)
    settings_ = Settings()

    first = load_package(root, settings=settings_)
    second = load_package(root, settings=settings_)

    event(f"files: {min(len(first.files), 3)}, skipped: {min(len(first.skipped), 3)}")
    check_package(first, root, canary)
    assert first == second
    assert canary not in first.model_dump_json()
