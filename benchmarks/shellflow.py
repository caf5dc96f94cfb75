"""What the shell dataflow checks add to the signatures analyzer, warm, per skill.

Usage: python -m benchmarks.shellflow [--runs 50]

Two skills are timed: the typical one of the analyzer tests (a SKILL.md, a Python
script, a short shell script) and a shell-heavy one (fenced install blocks and a
240-line script). Each is scanned by the signatures analyzer with the shell checks,
then with them replaced by a no-op; the medians and their difference are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import scanner.analyzers.signatures as signatures
from scanner.analyzers import registry
from scanner.core.models import SkillPackage
from scanner.intake.loader import load_package
from scanner.settings import Settings
from tests.analyzers.support import write_tree
from tests.analyzers.test_performance import FETCH, RENDER, SKILL

INSTALL = (
    "\n## Install\n\n```bash\nset -e\n"
    "VERSION=$(curl -s https://api.github.com/repos/o/r/releases/latest | jq -r .tag_name)\n"
    "curl -L -o tool.tgz https://github.com/o/r/releases/download/$VERSION/tool.tgz\n"
    "tar xzf tool.tgz\n./tool --version\n```\n"
)


def _package(root: Path, files: dict[str, str | bytes]) -> SkillPackage:
    return load_package(write_tree(root, files), settings=Settings())


def _median_ms(package: SkillPackage, runs: int) -> float:
    analyzer = registry.instance("signatures")
    analyzer.analyze(package)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        analyzer.analyze(package)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="shellflow-") as tmp:
        skills = {
            "typical": {"SKILL.md": SKILL, "scripts/fetch.py": FETCH, "scripts/render.sh": RENDER},
            "shell-heavy": {
                "SKILL.md": SKILL + INSTALL * 2,
                "scripts/fetch.py": FETCH,
                "scripts/render.sh": RENDER * 10,
            },
        }
        original = signatures.shell_hits
        for name, files in skills.items():
            package = _package(Path(tmp) / name, dict(files))
            with_checks = _median_ms(package, runs)
            signatures.shell_hits = lambda *args, **kwargs: []
            try:
                without = _median_ms(package, runs)
            finally:
                signatures.shell_hits = original
            print(
                f"{name}: {with_checks:.2f} ms with shell checks, {without:.2f} ms without, "
                f"added {with_checks - without:.2f} ms"
            )


if __name__ == "__main__":
    main()
