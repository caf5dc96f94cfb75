"""Fixtures for the intake tests: the hostile archives and skill folders, built once."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner.settings import Settings

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
if str(CASES_DIR) not in sys.path:
    sys.path.insert(0, str(CASES_DIR))

import gen_skills  # noqa: E402
import gen_zips  # noqa: E402


@pytest.fixture(scope="session")
def zip_cases(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Return the UP-* archive cases of gen_zips, written once per session."""
    cases: list[dict[str, Any]] = gen_zips.build(tmp_path_factory.mktemp("zips"))["cases"]
    return cases


@pytest.fixture(scope="session")
def skill_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the BC-* skill folders of gen_skills by "case/variant", plus the canary."""
    out = tmp_path_factory.mktemp("skills")
    cases = gen_skills.build(out, laughs_depth=9, pad_lines=100_000)
    by_name: dict[str, Any] = {f"{case['case']}/{case['variant']}": case for case in cases}
    canary_file = out / "outside" / "secret-canary.txt"
    by_name["canary"] = canary_file.read_text(encoding="utf-8").split("\n", 1)[0]
    return by_name


@pytest.fixture
def intake_settings() -> Callable[..., Settings]:
    """Return a factory of settings with small limits for loader tests."""

    def make(**overrides: int) -> Settings:
        return Settings(**overrides)  # type: ignore[arg-type]

    return make
