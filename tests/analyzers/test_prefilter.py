"""The literal prefilter: what it requires of a pattern, and that it never skips a match."""

from __future__ import annotations

import pytest

from scanner.analyzers._prefilter import fold_case, required_literals, required_sets
from scanner.analyzers._rules import default_ruleset
from tests.conftest import REPO

RULES = default_ruleset()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Every part of a sequence is required, each alternation as one set.
        (r"curl\s+\S+\s+(?:token|secret)", ({"curl"}, {"token", "secret"})),
        (r"(?:upload|send)\w*\s+\S+\s+to\s+https?://", ({"upload", "send"}, {"http"}, {"://"})),
        # Optional parts, lookarounds and short words require nothing.
        (r"(?:curl)?\s*(?!token)\w+\s+nc\b", ()),
        # An alternative without a literal makes the whole alternation unknown.
        (r"(?:wget|\w+)\s+--mirror", ({"--mirror"},)),
    ],
)
def test_required_sets_of_a_pattern(pattern: str, expected: tuple[set[str], ...]) -> None:
    found = required_sets(pattern)

    assert sorted(map(sorted, found)) == sorted(map(sorted, expected))


def test_the_strongest_set_comes_first() -> None:
    pattern = r"(?:upload|send)\w*\s+\S+\s+to\s+https?://"

    assert required_sets(pattern)[0] == required_literals(pattern) == {"http"}


def _texts() -> list[str]:
    """Hit examples of every rule, and every text file of the shared corpus."""
    texts = [hit for rule in RULES.rules for hit in rule.spec.examples.hit]
    corpus = REPO.parent / "shared" / "corpus"
    suffixes = {".md", ".py", ".sh", ".js", ".ts", ".txt", ".json"}
    texts.extend(
        path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix in suffixes
    )
    return texts


def test_prefilter_never_skips_a_pattern_that_matches() -> None:
    skipped = []
    for text in _texts():
        folded = fold_case(text)
        for rule in RULES.rules:
            for pattern, conditions in zip(rule.patterns, rule.conditions, strict=True):
                if not pattern.search(text):
                    continue
                unmet = [sorted(req) for req in conditions if not any(lit in folded for lit in req)]
                if unmet:
                    skipped.append((rule.id, pattern.pattern[:60], unmet))

    assert skipped == []


def test_the_texts_include_the_corpus() -> None:
    assert len(_texts()) > sum(len(rule.spec.examples.hit) for rule in RULES.rules) + 50
