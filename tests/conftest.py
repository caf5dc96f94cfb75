"""Fixtures shared by every test folder: settings, skill factories, the corpus."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CASES_DIR = Path(__file__).resolve().parent / "cases"

if str(CASES_DIR) not in sys.path:
    sys.path.insert(0, str(CASES_DIR))

SkillFactory = Callable[..., Path]


@pytest.fixture
def make_skill(tmp_path: Path) -> SkillFactory:
    """Return a factory that writes a skill folder from a {relative path: content} dict."""
    counter = iter(range(10_000))

    def make(files: dict[str, str | bytes], name: str | None = None) -> Path:
        root = tmp_path / "skills" / (name or f"skill-{next(counter)}")
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            path.write_bytes(data)
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Return a factory of small, fast settings with a private temp folder."""
    temp = tmp_path / "server-tmp"
    temp.mkdir()

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "pool_size": 2,
            "analyzer_timeout_seconds": 20.0,
            "temp_dir": temp,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


def corpus_samples() -> list[Path]:
    """Return every labelled sample folder of the shared corpus."""
    if not CORPUS.is_dir():
        return []
    return sorted(p.parent for p in CORPUS.glob("*/_expected.json"))


def expected(sample: Path) -> dict[str, object]:
    """Return the ground truth of a corpus sample."""
    data: dict[str, object] = json.loads((sample / "_expected.json").read_text())
    return data


def copy_without_label(sample: Path, dest_parent: Path) -> Path:
    """Copy a corpus sample without its `_expected.json`, which holds the answer."""
    dest = dest_parent / sample.name
    shutil.copytree(sample, dest, ignore=shutil.ignore_patterns("_expected.json"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding every corpus sample without its label file."""
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    dest = tmp_path_factory.mktemp("corpus")
    for sample in corpus_samples():
        copy_without_label(sample, dest)
    return dest
