"""Hostile text never crashes an analyzer, findings are deterministic, patterns stay linear."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analyzers import registry
from scanner.analyzers._rules import default_ruleset
from scanner.core.models import FileKind, Manifest, SkillFile, SkillPackage

NEGATED_CLASS = r"\[\^(?:\\.|[^\]\\])*\]"
UNBOUNDED = re.compile(rf"(?:{NEGATED_CLASS}|\\S)[*+]")
ANCHORED_SPACE = re.compile(r"(?<!\\)\^\\s[*+]")
ALPHABET = st.sampled_from(
    [
        *"abc ./-_$(){}[]|&;<>\"'`#*!\n\t=:@~\\",
        *("curl ", "| sh", "```", "<!--", "-->", "\u200b", "\u202e", "\U000e0041"),
        *("\u0430", "base64 -d", "eval(", "ignore previous "),
        *("chr(99)+", "\\x63", "[::-1]", "<details>", "</details>", '](https://a "', "+'"),
        *("$a", "a='cu'", "\u0585", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "0x63,"),
    ]
)


def package_with(path: str, text: str) -> SkillPackage:
    item = SkillFile(
        path=path,
        size=len(text),
        sha256="0" * 64,
        kind=FileKind.TEXT,
        detected_type="text",
        text=text,
    )
    return SkillPackage(name="fuzz", root_name="fuzz", manifest=Manifest(body=text), files=(item,))


def all_patterns() -> list[str]:
    """Return the source of every rule and fact pattern."""
    ruleset = default_ruleset()
    patterns = [p.pattern for rule in ruleset.rules for p in rule.patterns]
    return patterns + [p.pattern for facts in ruleset.facts.values() for p in facts]


def test_no_pattern_repeats_an_open_class_without_bound():
    offenders = [p for p in all_patterns() if UNBOUNDED.search(p)]

    assert offenders == []


def test_no_line_anchor_is_followed_by_whitespace_that_crosses_lines():
    # `^\s*` in MULTILINE mode restarts at every line and runs over all the blank lines
    # after it: quadratic on a file padded with newlines.
    offenders = [p for p in all_patterns() if ANCHORED_SPACE.search(p)]

    assert offenders == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(ALPHABET, max_size=200).map("".join),
    path=st.sampled_from(["SKILL.md", "scripts/a.py", "scripts/a.sh", "x.js", "notes.txt"]),
)
def test_any_text_gives_findings_without_crashing(text, path):
    package = package_with(path, text)

    for name in registry.names():
        findings = registry.instance(name).analyze(package)
        again = registry.instance(name).analyze(package)
        assert findings == again


def test_unclosed_details_and_titles_yield_nothing_and_stop():
    from scanner.analyzers._markup import hidden_channels

    text = "<details>" * 50_000 + '[a](https://a "' * 20_000

    assert hidden_channels(text) == []


def test_escape_flood_is_cut_into_bounded_candidates():
    from scanner.analyzers._decode import MAX_BLOBS, find_payloads

    payloads = find_payloads("\\x41" * 200_000)

    assert 0 < len(payloads) <= MAX_BLOBS
