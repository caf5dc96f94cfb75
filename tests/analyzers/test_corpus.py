"""The labelled corpus: malicious samples reach HIGH on an expected file, benign stay below MEDIUM.

The samples are copied without `_expected.json` (the answer) and read by the real loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scanner.core.models import Finding, Severity
from scanner.intake.loader import load_package
from scanner.settings import Settings
from tests.analyzers.support import run_analyzers

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SAMPLES = sorted(path.parent for path in CORPUS.glob("*/_expected.json")) if CORPUS.is_dir() else []
LINE_SLACK = 2

pytestmark = pytest.mark.skipif(not SAMPLES, reason=f"shared corpus not found at {CORPUS}")


def scan_sample(sample: Path, tmp_path: Path) -> tuple[dict[str, object], list[Finding]]:
    expected = json.loads((sample / "_expected.json").read_text())
    copy = tmp_path / sample.name
    shutil.copytree(sample, copy, ignore=shutil.ignore_patterns("_expected.json"))
    return expected, run_analyzers(load_package(copy, settings=Settings()))


def summary(name: str, label: str, findings: list[Finding]) -> str:
    top = max((f.severity for f in findings), key=lambda s: s.rank, default=None)
    fired = sorted({f.rule_id for f in findings if f.severity.rank >= Severity.MEDIUM.rank})
    return f"{name:26} {label:9} {top.value if top else '-':8} {', '.join(fired)}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[path.name for path in SAMPLES])
def test_corpus_sample(sample, tmp_path, record_property):
    expected, findings = scan_sample(sample, tmp_path)
    label = str(expected["label"])
    locations = [(loc["file"], loc["line"]) for loc in expected["locations"]]

    line = summary(sample.name, label, findings)
    record_property("corpus", line)
    print(line)  # noqa: T201 - the per-sample table is part of the corpus report (-s)

    if label == "malicious":
        files = {file for file, _ in locations}
        assert any(f.severity.rank >= Severity.HIGH.rank and f.file_path in files for f in findings)
    else:
        assert not [f for f in findings if f.severity.rank >= Severity.MEDIUM.rank]


@pytest.mark.parametrize(
    "sample",
    [s for s in SAMPLES if json.loads((s / "_expected.json").read_text())["label"] == "malicious"],
    ids=lambda path: path.name,
)
def test_malicious_sample_is_located_within_two_lines(sample, tmp_path):
    expected, findings = scan_sample(sample, tmp_path)

    def near(finding: Finding, file: str, line: int) -> bool:
        if finding.file_path != file or finding.severity.rank < Severity.HIGH.rank:
            return False
        return line == 0 or abs((finding.line_number or 0) - line) <= LINE_SLACK

    assert any(near(f, loc["file"], loc["line"]) for f in findings for loc in expected["locations"])
