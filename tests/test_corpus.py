"""Every labelled sample of shared/corpus, scanned end to end through the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scanner.core.models import ScanResult, Severity
from scanner.core.scan import ScanOptions
from scanner.engine import Engine
from tests.conftest import corpus_samples, expected

HIGH = Severity.HIGH.rank


@pytest.fixture
async def corpus_results(corpus_copy: Path, settings_factory) -> dict[str, ScanResult]:
    async with Engine(settings_factory()) as engine:
        names = [sample.name for sample in corpus_samples()]
        results = await asyncio.gather(
            *(engine.scan_directory(corpus_copy / name, ScanOptions()) for name in names)
        )
    return dict(zip(names, results, strict=True))


def _problem(name: str, result: ScanResult) -> str | None:
    truth = expected(corpus_samples()[0].parent / name)
    files = {loc["file"] for loc in truth["locations"]}  # type: ignore[union-attr,index]
    high = [f for f in result.findings if f.severity.rank >= HIGH]
    if truth["label"] == "malicious":
        if result.is_safe or not any(f.file_path in files for f in high):
            return f"{name}: malicious, but no HIGH+ finding on {sorted(files)}"
    elif not result.is_safe or high:
        return f"{name}: benign, but reported {[(f.rule_id, f.severity.value) for f in high]}"
    return None


async def test_every_corpus_sample_gets_its_label(corpus_results, record_property):
    problems = [p for name, r in corpus_results.items() if (p := _problem(name, r))]
    for name, result in corpus_results.items():
        top = result.max_severity.value if result.max_severity else "none"
        record_property(name, f"safe={result.is_safe} max={top} findings={result.findings_count}")

    assert problems == []
    assert len(corpus_results) == len(corpus_samples()) == 34
    assert all(not r.analyzers_failed for r in corpus_results.values())


async def test_benign_corpus_has_at_most_one_medium_finding_sample(corpus_results):
    benign = [
        n for n in corpus_results if expected(corpus_samples()[0].parent / n)["label"] == "benign"
    ]
    with_medium = [
        n
        for n in benign
        if any(f.severity.rank >= Severity.MEDIUM.rank for f in corpus_results[n].findings)
    ]

    assert len(benign) == 11
    assert len(with_medium) <= 1, with_medium
