r"""Read a skill folder into a `SkillPackage`: each regular file once, links never followed.

The folder is walked iteratively through directory file descriptors (``openat``
with ``O_NOFOLLOW``), so a directory swapped for a symlink during the walk is not
entered and the walk never leaves the root. What is not read is reported as a
`SkippedEntry`:

    symlink: any symbolic link, inside or outside the root (detail: its target).
    special_file: FIFO, socket or device (detail: which); FIFOs are never opened.
    vcs_metadata: a ``.hg`` or ``.svn`` folder, or what a ``.git`` folder holds beyond
        ``config`` and ``hooks/`` (which are read: git runs what they name).
    too_deep: a folder nested deeper than `MAX_DEPTH`.
    too_many_files: the entry count passed ``max_package_files``; the walk stops.
    too_large: ``max_package_bytes`` was reached; the file was not read.
    unreadable: the entry could not be opened or read (detail: the error).
    outside_skill_folder: an entry next to the nested skill folder that was chosen
        as the root (path given as ``../name``).

Files over ``max_file_bytes`` keep only that prefix (``truncated``; ``sha256`` is
then the prefix's hash). Text keeps its line breaks as in the file (``\r\n`` too):
`str.splitlines` counts them like an editor, except that it also breaks on
``\v``, ``\f``, ``\x1c``-``\x1e``, ``\x85``, U+2028 and U+2029.

Limitations: hard links are read like any regular file (a local folder can link a
file from elsewhere on the same filesystem); entries next to a nested skill folder
are reported, not scanned.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from scanner.core.errors import InvalidPackageError
from scanner.core.models import Manifest, SkillFile, SkillPackage, SkippedEntry
from scanner.intake._content import classify
from scanner.intake._names import escape_name
from scanner.intake.frontmatter import parse_manifest
from scanner.settings import Settings

MAX_DEPTH = 32
MAX_NAME_CHARS = 200
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_SKILL_MD = "skill.md"
_OUTSIDE = "outside_skill_folder"
_READ_CHUNK = 1024 * 1024
_MAX_LINK_DETAIL = 300
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# SECURITY: O_NOFOLLOW refuses a file swapped for a link after the directory was
# listed; O_NONBLOCK keeps a FIFO swapped in from blocking the open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def load_package(root: Path, *, settings: Settings, lenient: bool = False) -> SkillPackage:
    """Read the skill folder at `root`; manifest problems are kept as data.

    When `root` holds no SKILL.md but exactly one sub-folder does (a ZIP's
    ``skill/SKILL.md``), that sub-folder is the skill.

    Args:
        root: The skill folder (it may itself be a symlink; nothing below it is followed).
        settings: Source of ``max_package_files``, ``max_file_bytes``, ``max_package_bytes``.
        lenient: Reserved for the scan core; the loader never raises for a manifest.

    Raises:
        InvalidPackageError: `root` is missing, not a folder, or cannot be read.
    """
    base = _check_root(root)
    skill_dir, outside = _choose_skill_dir(base, settings.max_package_files)
    walker = _Walker(settings)
    walker.walk(_open_dir(skill_dir, follow=skill_dir == base))
    files = tuple(sorted(walker.files, key=lambda item: item.path))
    manifest = _read_manifest(files)
    root_name = escape_name(os.path.basename(skill_dir))[0]
    return SkillPackage(
        name=_skill_name(manifest, root_name),
        root_name=root_name,
        manifest=manifest,
        files=files,
        skipped=(*outside, *walker.skipped),
        total_bytes=walker.total_bytes,
    )


def _check_root(root: Path) -> str:
    try:
        mode = os.stat(root).st_mode
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise InvalidPackageError("the skill folder does not exist") from exc
    except OSError as exc:
        raise InvalidPackageError("the skill folder cannot be read") from exc
    if not stat.S_ISDIR(mode):
        raise InvalidPackageError("the skill path is a file, not a folder")
    return os.path.realpath(root)


def _open_dir(path: str, *, follow: bool) -> int:
    flags = _DIR_FLAGS if follow else _DIR_FLAGS | os.O_NOFOLLOW
    try:
        return os.open(path, flags)
    except OSError as exc:
        raise InvalidPackageError("the skill folder cannot be read") from exc


def _list_dir(path: str, limit: int) -> list[os.DirEntry[str]] | None:
    """Return up to `limit` entries of a folder, or None when it holds more."""
    with os.scandir(path) as entries:
        items = list(islice(entries, limit + 1))
    return None if len(items) > limit else items


def _is_skill_md(entry: os.DirEntry[str]) -> bool:
    return entry.name.lower() == _SKILL_MD and entry.is_file(follow_symlinks=False)


def _holds_skill_md(entry: os.DirEntry[str], limit: int) -> bool:
    if not entry.is_dir(follow_symlinks=False):
        return False
    try:
        inner = _list_dir(entry.path, limit)
    except OSError:
        return False
    return any(_is_skill_md(item) for item in inner or ())


def _choose_skill_dir(base: str, limit: int) -> tuple[str, list[SkippedEntry]]:
    try:
        entries = _list_dir(base, limit)
    except OSError as exc:
        raise InvalidPackageError("the skill folder cannot be read") from exc
    if entries is None or any(_is_skill_md(entry) for entry in entries):
        return base, []
    candidates = [entry for entry in entries if _holds_skill_md(entry, limit)]
    if len(candidates) != 1:
        return base, []
    chosen = candidates[0]
    detail = f"next to the skill folder {escape_name(chosen.name)[0]}; not scanned"
    others = [
        SkippedEntry(path=f"../{escape_name(entry.name)[0]}", reason=_OUTSIDE, detail=detail)
        for entry in sorted(entries, key=lambda item: item.name)
        if entry is not chosen
    ]
    return chosen.path, others


def _read_manifest(files: tuple[SkillFile, ...]) -> Manifest | None:
    found = [item for item in files if item.path.lower() == _SKILL_MD and item.text is not None]
    if not found:
        return None
    best = next((item for item in found if item.path == "SKILL.md"), found[0])
    return parse_manifest(best.text or "", encoding=best.encoding or "utf-8")


def _skill_name(manifest: Manifest | None, fallback: str) -> str:
    value = manifest.data.get("name") if manifest is not None else None
    if not isinstance(value, str):
        return fallback
    name = value.strip()
    if not name or len(name) > MAX_NAME_CHARS or escape_name(name)[1]:
        return fallback
    return name


@dataclass
class _Level:
    fd: int
    path: str
    depth: int
    escaped: bool
    entries: Iterator[os.DirEntry[str]]


@dataclass
class _Walker:
    """Depth-first walk that reads every regular file once, within the limits."""

    settings: Settings
    files: list[SkillFile] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    total_bytes: int = 0
    count: int = 0
    stopped: bool = False

    def walk(self, root_fd: int) -> None:
        """Walk the folder open as `root_fd`, and close it."""
        try:
            entries = self._entries(root_fd)
        except OSError as exc:
            os.close(root_fd)
            raise InvalidPackageError("the skill folder cannot be read") from exc
        stack = [_Level(root_fd, "", 0, False, entries)]
        try:
            while stack and not self.stopped:
                level = stack[-1]
                entry = next(level.entries, None)
                if entry is None:
                    os.close(stack.pop().fd)
                    continue
                child = self._visit(level, entry)
                if child is not None:
                    stack.append(child)
        finally:
            for level in stack:
                os.close(level.fd)

    def _entries(self, fd: int) -> Iterator[os.DirEntry[str]]:
        # NOTE: one more than the remaining budget, so an overflow is noticed.
        budget = self.settings.max_package_files - self.count + 1
        with os.scandir(fd) as entries:
            items = list(islice(entries, max(budget, 1)))
        return iter(sorted(items, key=lambda item: item.name))

    def _visit(self, level: _Level, entry: os.DirEntry[str]) -> _Level | None:
        name, escaped = escape_name(entry.name)
        path = f"{level.path}/{name}" if level.path else name
        escaped = escaped or level.escaped
        self.count += 1
        if self.count > self.settings.max_package_files:
            limit = self.settings.max_package_files
            self._skip(path, "too_many_files", f"over {limit} entries; the rest was not read")
            self.stopped = True
            return None
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            self._skip(path, "unreadable", _error_text(exc))
            return None
        if stat.S_ISLNK(mode):
            self._skip(path, "symlink", _link_target(level.fd, entry.name))
        elif stat.S_ISDIR(mode):
            return self._enter(level, entry.name, path, escaped)
        elif stat.S_ISREG(mode):
            self._read(level.fd, entry.name, path, escaped)
        else:
            self._skip(path, "special_file", _special_kind(mode))
        return None

    def _enter(self, level: _Level, name: str, path: str, escaped: bool) -> _Level | None:
        if name == ".git":
            self._read_git(level.fd, path, escaped)
            return None
        if name in _VCS_DIRS:
            self._skip(path, "vcs_metadata", "version-control metadata is not scanned")
            return None
        if level.depth + 1 > MAX_DEPTH:
            self._skip(path, "too_deep", f"nested deeper than {MAX_DEPTH} folders")
            return None
        try:
            fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=level.fd)
        except OSError as exc:
            self._skip(path, _open_error_reason(exc), _error_text(exc))
            return None
        try:
            entries = self._entries(fd)
        except OSError as exc:
            os.close(fd)
            self._skip(path, "unreadable", _error_text(exc))
            return None
        return _Level(fd, path, level.depth + 1, escaped, entries)

    def _read_git(self, parent_fd: int, path: str, escaped: bool) -> None:
        """Read what git runs from a `.git` folder: `config` and the active hooks.

        SECURITY: `core.fsmonitor`, `core.sshCommand`, filters and hooks run commands on
        an ordinary `git status` or `git pull` in the skill's folder. The object store
        is not read (it is only noted): it holds data, not commands.
        """
        self._skip(path, "vcs_metadata", "only .git/config and .git/hooks are read")
        try:
            git_fd = os.open(".git", _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent_fd)
        except OSError:
            return
        try:
            self._read_git_file(git_fd, "config", f"{path}/config", escaped)
            self._read_git_hooks(git_fd, f"{path}/hooks", escaped)
        finally:
            os.close(git_fd)

    def _read_git_hooks(self, git_fd: int, path: str, escaped: bool) -> None:
        try:
            hooks_fd = os.open("hooks", _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=git_fd)
        except OSError:
            return
        try:
            for entry in self._entries(hooks_fd):
                if entry.name.endswith(".sample") or self.stopped:
                    continue
                name, name_escaped = escape_name(entry.name)
                hook = f"{path}/{name}"
                self._read_git_file(hooks_fd, entry.name, hook, escaped or name_escaped)
        finally:
            os.close(hooks_fd)

    def _read_git_file(self, dir_fd: int, name: str, path: str, escaped: bool) -> None:
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError:
            return
        self.count += 1
        if self.count > self.settings.max_package_files:
            self.stopped = True
            return
        if stat.S_ISREG(mode):
            self._read(dir_fd, name, path, escaped)
        elif stat.S_ISLNK(mode):
            self._skip(path, "symlink", _link_target(dir_fd, name))

    def _read(self, dir_fd: int, name: str, path: str, escaped: bool) -> None:
        budget = self.settings.max_package_bytes - self.total_bytes
        if budget <= 0:
            self._skip(path, "too_large", "the package byte limit was reached")
            return
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            self._skip(path, _open_error_reason(exc), _error_text(exc))
            return
        try:
            self._read_open(fd, path, escaped, min(budget, self.settings.max_file_bytes))
        except OSError as exc:
            self._skip(path, "unreadable", _error_text(exc))
        finally:
            os.close(fd)

    def _read_open(self, fd: int, path: str, escaped: bool, limit: int) -> None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            self._skip(path, "special_file", _special_kind(info.st_mode))
            return
        raw = _read_prefix(fd, limit)
        truncated = len(raw) == limit and bool(os.read(fd, 1))
        self.total_bytes += len(raw)
        force_text = path.lower() == _SKILL_MD
        content = classify(raw, name=path, truncated=truncated, force_text=force_text)
        self.files.append(
            SkillFile(
                path=path,
                size=max(info.st_size, len(raw)),
                sha256=hashlib.sha256(raw).hexdigest(),
                kind=content.kind,
                detected_type=content.detected_type,
                encoding=content.decoded.encoding if content.decoded else None,
                text=content.decoded.text if content.decoded else None,
                data=None if content.decoded else raw,
                truncated=truncated,
                name_escaped=escaped,
            )
        )

    def _skip(self, path: str, reason: str, detail: str = "") -> None:
        self.skipped.append(SkippedEntry(path=path, reason=reason, detail=detail))


def _read_prefix(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _link_target(dir_fd: int, name: str) -> str:
    try:
        target = os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return ""
    text = escape_name(target)[0]
    return text if len(text) <= _MAX_LINK_DETAIL else text[:_MAX_LINK_DETAIL] + "..."


def _special_kind(mode: int) -> str:
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "unknown file type")


def _open_error_reason(exc: OSError) -> str:
    # NOTE: O_NOFOLLOW fails with ELOOP when the entry became a symlink after listing.
    return "symlink" if exc.errno == errno.ELOOP else "unreadable"


def _error_text(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else "cannot be read"
