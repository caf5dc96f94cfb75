"""Fixtures for the analyzer tests: build a skill folder, load it, run analyzers on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.core.models import Finding, SkillPackage
from scanner.intake.loader import load_package
from scanner.settings import Settings
from tests.analyzers.support import run_analyzers, skill_md, write_tree

PackageFactory = Callable[..., SkillPackage]
Scanner = Callable[..., list[Finding]]


@pytest.fixture
def make_package(tmp_path: Path) -> PackageFactory:
    """Return a factory: files -> SkillPackage, read by the real loader.

    A SKILL.md with valid frontmatter is added unless the files hold one or
    `with_skill_md=False`.
    """
    counter = iter(range(10_000))

    def make(files: dict[str, str | bytes], *, with_skill_md: bool = True) -> SkillPackage:
        tree = dict(files)
        if with_skill_md and not any(key.lower() == "skill.md" for key in tree):
            tree["SKILL.md"] = skill_md("# Test skill\n\nDoes one small thing.\n")
        root = write_tree(tmp_path / f"skill-{next(counter)}", tree)
        return load_package(root, settings=Settings())

    return make


@pytest.fixture
def scan(make_package: PackageFactory) -> Scanner:
    """Return a helper: files -> findings of the named analyzers (default: all)."""

    def run(
        files: dict[str, str | bytes], *names: str, with_skill_md: bool = True
    ) -> list[Finding]:
        return run_analyzers(make_package(files, with_skill_md=with_skill_md), *names)

    return run
