"""Timing of all analyzers on a typical skill; measured and reported, never asserted."""

from __future__ import annotations

import time

from scanner.analyzers import registry
from tests.analyzers.support import skill_md

SKILL = skill_md(
    "# Report builder\n\nBuild a weekly report from the issue tracker.\n\n## Steps\n"
    "1. Run `python scripts/fetch.py owner/repo` to download open issues.\n"
    "2. Run `bash scripts/render.sh report.md` to render the Markdown as HTML.\n"
    "3. Show the user the summary table and ask before publishing anything.\n\n"
    "## Notes\n- Never print the token.\n- Keep the report under 200 lines.\n" * 3
)
FETCH = (
    "import json, os, sys\nimport requests\n\nAPI = 'https://api.github.com'\n\n"
    "def issues(repo):\n    token = os.environ.get('GITHUB_TOKEN')\n"
    "    headers = {'Authorization': f'Bearer {token}'} if token else {}\n"
    "    r = requests.get(f'{API}/repos/{repo}/issues', headers=headers, timeout=10)\n"
    "    r.raise_for_status()\n    return r.json()\n\n"
    "if __name__ == '__main__':\n    json.dump(issues(sys.argv[1]), sys.stdout, indent=2)\n"
) * 4
RENDER = (
    '#!/usr/bin/env bash\nset -euo pipefail\nin="$1"\nout="${in%.md}.html"\n'
    'pandoc "$in" -o "$out" --standalone\necho "wrote $out"\n'
) * 4


def test_all_analyzers_on_a_typical_skill_timing(make_package, record_property):
    package = make_package(
        {"SKILL.md": SKILL, "scripts/fetch.py": FETCH, "scripts/render.sh": RENDER}
    )
    analyzers = [registry.instance(name) for name in registry.names()]
    for analyzer in analyzers:
        analyzer.analyze(package)

    runs = 20
    started = time.perf_counter()
    for _ in range(runs):
        for analyzer in analyzers:
            analyzer.analyze(package)
    per_scan_ms = (time.perf_counter() - started) * 1000 / runs

    record_property("analyzers_ms_per_typical_skill", round(per_scan_ms, 2))
    print(f"all analyzers, typical skill: {per_scan_ms:.1f} ms per scan")  # noqa: T201 - report
    assert per_scan_ms > 0
