"""The behavioral analyzer alone on every corpus sample (copied without `_expected.json`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scanner.core.models import Finding, Severity
from scanner.intake.loader import load_package
from scanner.settings import Settings
from tests.analyzers.support import run_analyzers, steps_of
from tests.analyzers.test_corpus import CORPUS, SAMPLES

DATAFLOW = {
    "env-doctor": ("scripts/doctor.py", 27, "behavioral.secret-exfiltration"),
    "dns-health-check": ("scripts/check_dns.py", 10, "behavioral.secret-exfiltration"),
    "log-compactor": ("scripts/compact.py", 18, "behavioral.obfuscated-execution"),
    "code-search": ("scripts/search.py", 8, "behavioral.command-injection"),
    "formula-calculator": ("scripts/calc.py", 14, "behavioral.code-injection"),
    "docs-exporter": ("scripts/export.py", 19, "behavioral.path-traversal"),
}

pytestmark = pytest.mark.skipif(not SAMPLES, reason=f"shared corpus not found at {CORPUS}")


def behavioral_findings(sample: Path, tmp_path: Path) -> list[Finding]:
    copy = tmp_path / sample.name
    shutil.copytree(sample, copy, ignore=shutil.ignore_patterns("_expected.json"))
    return run_analyzers(load_package(copy, settings=Settings()), "behavioral")


@pytest.mark.parametrize("name", sorted(DATAFLOW))
def test_dataflow_sample_is_found_with_its_path(name, tmp_path):
    file, line, rule = DATAFLOW[name]

    findings = behavioral_findings(CORPUS / name, tmp_path)

    hits = [f for f in findings if f.rule_id == rule and f.severity.rank >= Severity.HIGH.rank]
    at_sink = [f for f in hits if (f.file_path, f.line_number) == (file, line)]
    assert at_sink, [(f.file_path, f.line_number) for f in findings]
    flow = steps_of(at_sink[0])
    assert flow[0]["role"] == "source"
    assert (flow[-1]["file"], flow[-1]["line"], flow[-1]["role"]) == (file, line, "sink")


def test_env_doctor_path_runs_from_the_dump_to_the_post(tmp_path):
    findings = behavioral_findings(CORPUS / "env-doctor", tmp_path)

    top = max(findings, key=lambda f: f.severity.rank)
    lines = [step["line"] for step in steps_of(top)]
    assert top.severity is Severity.CRITICAL
    assert lines[0] == 17
    assert 33 in lines
    assert top.metadata["destination"] == "http://203.0.113.10/api/v1/diag"


BENIGN = [
    path
    for path in SAMPLES
    if json.loads((path / "_expected.json").read_text())["label"] == "benign"
]


def test_the_corpus_has_benign_samples():
    assert len(BENIGN) >= 10


@pytest.mark.parametrize("sample", BENIGN, ids=[path.name for path in BENIGN])
def test_benign_samples_get_nothing_at_medium(sample, tmp_path):
    findings = behavioral_findings(sample, tmp_path)

    assert [
        (f.rule_id, f.severity) for f in findings if f.severity.rank >= Severity.MEDIUM.rank
    ] == []
