"""The linters of STYLE.md section 9 run as part of the suite."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "scanner", "sandbox", "tests", "benchmarks"],
        ["ruff", "format", "--check", "scanner", "sandbox", "tests", "benchmarks"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_linter_passes(command):
    proc = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
