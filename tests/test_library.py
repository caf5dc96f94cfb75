"""The library entry points, run as a user's script would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sandbox._process import REIMPORTED_MAIN_MESSAGE
from tests.conftest import REPO

SKILL_MD = "---\nname: demo-notes\ndescription: Keeps short notes in a Markdown file.\n---\n# N\n"


def run_script(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    skill = tmp_path / "demo"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL_MD)
    script = tmp_path / "check.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(REPO), "SKILL_SCANNER_POOL_SIZE": "1"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )


def test_scan_at_a_scripts_top_level_fails_with_what_to_do(tmp_path: Path):
    proc = run_script(
        tmp_path, "from scanner import scan_path_sync\n\nprint(scan_path_sync('demo').is_safe)\n"
    )

    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1
    assert lines[-1] == f"scanner.core.errors.SandboxUnavailableError: {REIMPORTED_MAIN_MESSAGE}"
    assert "_fixup_main_from_path" not in proc.stderr
    assert proc.stdout == ""


def test_scan_under_the_main_guard_works(tmp_path: Path):
    proc = run_script(
        tmp_path,
        "from scanner import scan_path_sync\n\n"
        "if __name__ == '__main__':\n"
        "    result = scan_path_sync('demo')\n"
        "    print(result.skill_name, result.is_safe)\n",
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "demo-notes True\n"


def test_readme_library_example_runs_as_a_script(tmp_path: Path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## As a library\n\n```python\n(.*?)```", readme, re.DOTALL)
    assert example is not None
    for folder in ("path/to/skill", "skills/a", "skills/b"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "SKILL.md").write_text(SKILL_MD)

    proc = run_script(tmp_path, example.group(1) + "    print([r.skill_name for r in results])\n")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["True 0", "['demo-notes', 'demo-notes']"]
