"""The check catalogue: every check written in code, documented and exemplified as data.

Rules of the YAML packs carry their own documentation and examples. Checks written in
code (the ids in an analyzer's `RULES`: the signatures analyzer's `py.*`, `supply.*`
and `obfusc.encoded-payload`, and the `manifest`, `unicode` and `files` ids) are
described in `scanner/rules/checks/<analyzer>.yaml`, one file per analyzer, each
validated by `CheckCatalogue` (unknown keys are errors)::

    checks:
      - id: files.pickle
        severity: HIGH            # base level; say in `why` what moves it
        category: code_injection  # a Category value
        title: Pickle file
        why: Why it matters, and what it is not (false-positive notes).
        remediation: What to do instead.
        hit:                      # a tiny skill: relative path -> content
          data/model.pkl: {base64: gASV..., about: a pickle that calls os.system}
        miss:                     # a benign look-alike that must stay quiet
          data/table.json: '{"rows": []}'

The hit must be reported above INFO, at `hit_severity` (default: `severity`); the
miss must not be reported at all, or at most at `miss_at_most` when its benign twin is
deliberately reported low. A content is text, or one of:

- `{text: ..., repeat: N}`: the text N times (large files);
- `{base64: ...}`: bytes;
- `{symlink: target}`: a symbolic link; `{fifo: true}`: a named pipe;
- `{absent: true}`: only for `SKILL.md`: the example has none (otherwise a plain,
  valid SKILL.md is added when the example lists none).

Each form takes an optional `about`, shown in the rule reference instead of the bytes.
The first file listed is the one the rule reference shows.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from scanner.core.models import Category, Severity

CATALOGUE_PACKAGE = "scanner"
CATALOGUE_FOLDER = ("rules", "checks")
SKILL_MD = "SKILL.md"
MAX_EXAMPLE_BYTES = 32 * 1024 * 1024
DEFAULT_SKILL_MD = (
    "---\nname: demo-skill\n"
    "description: Formats Markdown tables in the files the user names.\n---\n\n"
    "# Demo skill\n\nFormat the tables of the Markdown files the user names.\n"
)

_STRICT = ConfigDict(frozen=True, extra="forbid")


class RepeatedText(BaseModel):
    """Text written `repeat` times, for files that must be large."""

    model_config = _STRICT

    text: str = Field(min_length=1)
    repeat: int = Field(default=1, ge=1)
    about: str = ""


class BinaryContent(BaseModel):
    """Bytes given as base64."""

    model_config = _STRICT

    base64: str
    about: str = ""

    @field_validator("base64")
    @classmethod
    def _decodes(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not base64: {exc}") from exc
        return value

    def data(self) -> bytes:
        """Return the decoded bytes."""
        return base64.b64decode(self.base64)


class SymlinkEntry(BaseModel):
    """A symbolic link to `symlink` (never followed by the loader)."""

    model_config = _STRICT

    symlink: str = Field(min_length=1)
    about: str = ""


class FifoEntry(BaseModel):
    """A named pipe."""

    model_config = _STRICT

    fifo: Literal[True]
    about: str = ""


class AbsentEntry(BaseModel):
    """No such file (only for SKILL.md, which is otherwise added)."""

    model_config = _STRICT

    absent: Literal[True]
    about: str = ""


Content = str | RepeatedText | BinaryContent | SymlinkEntry | FifoEntry | AbsentEntry
Example = dict[str, Content]


class CheckEntry(BaseModel):
    """One check written in code: what it means, and a hit and a near miss."""

    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9.-]*$")]
    severity: Severity
    category: Category
    title: str = Field(min_length=1)
    why: str = Field(min_length=1)
    remediation: str = Field(min_length=1)
    hit: Example = Field(min_length=1)
    miss: Example = Field(min_length=1)
    hit_severity: Severity | None = None
    miss_at_most: Severity | None = None

    @field_validator("severity", "hit_severity", "miss_at_most", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("hit", "miss")
    @classmethod
    def _paths(cls, files: Example) -> Example:
        for path, content in files.items():
            _check_path(path)
            if isinstance(content, AbsentEntry) and path != SKILL_MD:
                raise ValueError(f"{path}: `absent` is only for {SKILL_MD}")
        if sum(_size(content) for content in files.values()) > MAX_EXAMPLE_BYTES:
            raise ValueError(f"example larger than {MAX_EXAMPLE_BYTES} bytes")
        return files

    @property
    def expected_severity(self) -> Severity:
        """Return the severity the hit must be reported at."""
        return self.hit_severity or self.severity


class CheckCatalogue(BaseModel):
    """One file of `scanner/rules/checks/`: the checks of one analyzer."""

    model_config = _STRICT

    checks: list[CheckEntry] = Field(min_length=1)


class CatalogueError(ValueError):
    """A catalogue file is invalid: bad YAML, bad schema or a duplicate id."""


def _check_path(path: str) -> None:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\\" in path or ".." in pure.parts or "\0" in path:
        raise ValueError(f"example path {path!r} must be relative, `/`-separated, without `..`")


def _size(content: Content) -> int:
    if isinstance(content, str):
        return len(content.encode("utf-8"))
    if isinstance(content, RepeatedText):
        return len(content.text.encode("utf-8")) * content.repeat
    if isinstance(content, BinaryContent):
        return len(content.base64) * 3 // 4
    return 0


def parse_catalogue(text: str, name: str) -> CheckCatalogue:
    """Validate the YAML text of one catalogue file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{name}: invalid YAML: {exc}") from exc
    try:
        catalogue = CheckCatalogue.model_validate(data)
    except ValueError as exc:
        raise CatalogueError(f"{name}: {exc}") from exc
    ids = [entry.id for entry in catalogue.checks]
    duplicates = sorted({item for item in ids if ids.count(item) > 1})
    if duplicates:
        raise CatalogueError(f"{name}: duplicate check ids {duplicates}")
    return catalogue


@functools.cache
def load_catalogue() -> dict[str, CheckCatalogue]:
    """Return every catalogue file shipped in `scanner/rules/checks/`, by analyzer name."""
    folder = resources.files(CATALOGUE_PACKAGE).joinpath(*CATALOGUE_FOLDER)
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml") and e.is_file()),
        key=lambda e: e.name,
    )
    return {
        entry.name.removesuffix(".yaml"): parse_catalogue(
            entry.read_text(encoding="utf-8"), entry.name
        )
        for entry in entries
    }


def write_example(root: Path, files: Mapping[str, Content]) -> Path:
    """Write an example skill under `root` (a new folder) and return `root`."""
    root.mkdir(parents=True)
    tree = dict(files)
    if not any(path.lower() == SKILL_MD.lower() for path in tree):
        tree[SKILL_MD] = DEFAULT_SKILL_MD
    for rel, content in tree.items():
        _check_path(rel)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, content)
    return root


def _write(target: Path, content: Content) -> None:
    if isinstance(content, str):
        target.write_bytes(content.encode("utf-8"))
    elif isinstance(content, RepeatedText):
        target.write_bytes(content.text.encode("utf-8") * content.repeat)
    elif isinstance(content, BinaryContent):
        target.write_bytes(content.data())
    elif isinstance(content, SymlinkEntry):
        target.symlink_to(content.symlink)
    elif isinstance(content, FifoEntry):
        os.mkfifo(target)
