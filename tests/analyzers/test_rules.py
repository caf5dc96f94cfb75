"""The rule packs: schema, compilation, and every rule's own examples."""

from __future__ import annotations

import re

import pytest

from scanner.analyzers._markdown import MarkdownDoc, Region
from scanner.analyzers._rules import (
    CompiledRule,
    Hit,
    RuleError,
    RulePack,
    RuleSet,
    ScanTarget,
    default_ruleset,
    load_packs,
    parse_pack,
)
from scanner.analyzers._text import FileType
from scanner.core.models import Category, Severity

RULES = default_ruleset()
RULE_IDS = [rule.id for rule in RULES.rules]

VALID_RULE = """
pack: demo
description: A demo pack.
rules:
  - id: demo.thing
    title: A thing
    category: prompt_injection
    severity: HIGH
    description: Finds the thing in text.
    remediation: Remove it.
    file_types: [any]
    patterns: ['\\bthing\\b']
    examples: {hit: ['a thing'], miss: ['nothing']}
"""


def example_target(rule: CompiledRule, text: str) -> ScanTarget:
    """Build the text a rule's example is matched in: its first file type and region."""
    # NOTE: rules for any file are shown in Markdown, where quoted warnings are judged.
    kind = rule.spec.file_types[0]
    kind = FileType.MARKDOWN if kind is FileType.ANY else kind
    if kind is not FileType.MARKDOWN:
        return ScanTarget(text, kind)
    if not rule.regions & {Region.PROSE, Region.ANY}:
        text = f"```\n{text}\n```\n" if Region.CODE in rule.regions else f"<!--\n{text}\n-->\n"
    return ScanTarget(text, kind, MarkdownDoc(text))


def reported(rule: CompiledRule, text: str) -> list[Hit]:
    hits = RULES.scan(example_target(rule, text), frozenset({rule.id}))
    return [hit for hit in hits if hit.severity.rank > Severity.INFO.rank]


def examples(kind: str) -> list[tuple[str, str]]:
    return [
        pytest.param(rule.id, text, id=f"{rule.id}-{index}")
        for rule in RULES.rules
        for index, text in enumerate(getattr(rule.spec.examples, kind))
    ]


def test_every_shipped_pack_loads_and_compiles():
    packs = load_packs()

    ruleset = RuleSet(packs)

    assert len(ruleset.rules) == sum(len(pack.rules) for pack in packs)
    assert {pack.pack for pack in packs} >= {
        "prompt_injection", "command_injection", "exfiltration", "secrets", "obfuscation",
        "persistence", "resource_abuse", "supply_chain", "privilege", "path_traversal",
    }  # fmt: skip


def test_rule_ids_are_unique_and_dotted():
    assert len(RULE_IDS) == len(set(RULE_IDS))
    assert all(re.fullmatch(r"[a-z]+(?:\.[a-z0-9-]+)+", rule_id) for rule_id in RULE_IDS)


def test_every_secret_pattern_captures_the_secret_for_masking():
    secret_rules = [r for r in RULES.rules if r.spec.category is Category.HARDCODED_SECRET]

    assert secret_rules
    for rule in secret_rules:
        assert all("secret" in pattern.groupindex for pattern in rule.patterns), rule.id


@pytest.mark.parametrize(("rule_id", "text"), examples("hit"))
def test_rule_reports_its_hit_examples(rule_id, text):
    rule = RULES.rule(rule_id)

    hits = reported(rule, text)

    assert hits, f"{rule_id} missed its example {text!r}"


@pytest.mark.parametrize(("rule_id", "text"), examples("miss"))
def test_rule_ignores_its_miss_examples(rule_id, text):
    rule = RULES.rule(rule_id)

    hits = reported(rule, text)

    assert not hits, f"{rule_id} reported its counter-example {text!r}"


@pytest.mark.parametrize("fact_id", sorted(RULES.facts))
def test_fact_examples(fact_id):
    spec = RULES.fact_specs[fact_id]

    assert all(fact_id in RULES.facts_in(text) for text in spec.examples.hit)
    assert not any(fact_id in RULES.facts_in(text) for text in spec.examples.miss)


def test_pack_with_unknown_key_is_refused():
    text = VALID_RULE.replace("    severity: HIGH\n", "    severity: HIGH\n    sevrity: LOW\n")

    with pytest.raises(RuleError, match="sevrity"):
        parse_pack(text, "bad.yaml")


def test_rule_without_miss_example_is_refused():
    text = VALID_RULE.replace(", miss: ['nothing']", "")

    with pytest.raises(RuleError, match="miss"):
        parse_pack(text, "bad.yaml")


def test_invalid_yaml_is_refused():
    with pytest.raises(RuleError, match="invalid YAML"):
        parse_pack("rules: [unclosed", "bad.yaml")


def test_bad_regex_is_refused():
    pack = parse_pack(VALID_RULE.replace("\\bthing\\b", "(unclosed"), "bad.yaml")

    with pytest.raises(RuleError, match="bad regex"):
        RuleSet([pack])


def test_unknown_fragment_is_refused():
    pack = parse_pack(VALID_RULE.replace("\\bthing\\b", "{{nowhere}}"), "bad.yaml")

    with pytest.raises(RuleError, match="unknown fragment"):
        RuleSet([pack])


def test_escalation_on_unknown_fact_is_refused():
    text = VALID_RULE.replace(
        "    examples:",
        "    escalate: [{facts: [no_such_fact], severity: CRITICAL}]\n    examples:",
    )

    with pytest.raises(RuleError, match="unknown facts"):
        RuleSet([parse_pack(text, "bad.yaml")])


def test_duplicate_rule_ids_across_packs_are_refused():
    pack = parse_pack(VALID_RULE, "a.yaml")

    with pytest.raises(RuleError, match="duplicate rule id"):
        RuleSet([pack, pack])


def test_fragments_and_host_lists_expand():
    pack = RulePack.model_validate(
        {
            "pack": "f",
            "description": "d",
            "fragments": {"word": "thing"},
            "hosts": {"bad": ["x.test"]},
        }
    )
    ruleset = RuleSet([pack])

    assert ruleset.expand("a {{word}}") == "a thing"
    assert re.search(ruleset.expand("{{hosts_bad}}"), "https://a.x.test/")
    assert not re.search(ruleset.expand("{{hosts_bad}}"), "https://ax.test/")


def test_redact_masks_every_known_secret_kind():
    text = 'k = "AKIAEXAMPLEFAKE00000" and t = "ghp_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"'

    redacted = RULES.redact(text)

    assert "AKIAEXAMPLEFAKE00000" not in redacted
    assert "FAKEfakeFAKEfakeFAKEfake" not in redacted
    assert "AKIA***" in redacted
    assert "ghp_***" in redacted


def test_prefilter_does_not_skip_a_keyword_spelled_with_a_case_equivalent():
    # U+017F (long s) matches "s" in a case-insensitive regex.
    text = "aws_\u017fecret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKKEY\n"
    near_miss = "aws_sekret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEFAKKEY\n"
    rule = {"secret.aws-secret-key"}

    hits = RULES.scan(ScanTarget(text, FileType.PYTHON), frozenset(rule))

    assert [hit.rule.id for hit in hits] == ["secret.aws-secret-key"]
    assert hits[0].masked_secret == "wJal***"  # noqa: S105 - a masked fake key
    assert RULES.scan(ScanTarget(near_miss, FileType.PYTHON), frozenset(rule)) == []
