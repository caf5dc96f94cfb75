import os
import re
from pathlib import Path

import pytest

from scanner.analyzers import registry
from scanner.core.errors import PolicyError
from scanner.core.models import Category, Finding, Severity
from scanner.core.policy import (
    PRESETS,
    InvalidManifestAction,
    Policy,
    check_rule_ids,
    load_policy_file,
    parse_policy,
    policies_dir,
    preset,
)
from scanner.engine import import_plugins
from tests.conftest import REPO

KNOWN = frozenset(
    {"exfil.dns-tunnel", "exfil.http-post", "manifest.name-missing", "supply.typosquat"}
)


def finding(rule_id: str, severity: Severity) -> Finding:
    return Finding(
        rule_id=rule_id,
        category=Category.COMMAND_INJECTION,
        severity=severity,
        title="t",
        description="d",
        analyzer="signatures",
    )


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_under_its_own_name(name):
    assert preset(name).name == name


def test_presets_order_thresholds_from_strict_to_permissive():
    strict, balanced, permissive = preset("strict"), preset("balanced"), preset("permissive")

    assert strict.fail_threshold == Severity.MEDIUM
    assert balanced.fail_threshold == Severity.HIGH
    assert permissive.fail_threshold == Severity.CRITICAL
    assert strict.invalid_manifest is InvalidManifestAction.REJECT
    assert balanced.invalid_manifest is InvalidManifestAction.REPORT


def test_stricter_preset_never_passes_what_a_looser_one_fails():
    findings = [finding("a.b", sev) for sev in Severity]
    for sev in Severity:
        sample = [finding("x.y", sev)]
        if preset("permissive").fails(preset("permissive").apply(sample)):
            assert preset("balanced").fails(preset("balanced").apply(sample))
        if preset("balanced").fails(preset("balanced").apply(sample)):
            assert preset("strict").fails(preset("strict").apply(sample))
    assert len(preset("strict").apply(findings)) == 5


def test_apply_drops_below_report_threshold_and_disabled_rules():
    policy = Policy(name="p", report_threshold=Severity.MEDIUM, disabled_rules=("manifest.*",))
    findings = [
        finding("exfil.a", Severity.LOW),
        finding("exfil.b", Severity.HIGH),
        finding("manifest.name", Severity.CRITICAL),
    ]

    kept = policy.apply(findings)

    assert [f.rule_id for f in kept] == ["exfil.b"]


def test_exact_override_wins_over_pattern():
    policy = Policy(
        name="p",
        severity_overrides={"exfil.*": Severity.INFO, "exfil.dns": Severity.CRITICAL},
        report_threshold=Severity.INFO,
    )

    kept = policy.apply([finding("exfil.dns", Severity.HIGH), finding("exfil.http", Severity.HIGH)])

    assert [(f.rule_id, f.severity) for f in kept] == [
        ("exfil.dns", Severity.CRITICAL),
        ("exfil.http", Severity.INFO),
    ]


def test_unknown_key_is_named_in_the_error():
    with pytest.raises(PolicyError, match="key 'fail_treshold': unknown key"):
        parse_policy("name: x\nfail_treshold: HIGH\n", source="test")


def test_wrong_type_is_named_in_the_error():
    with pytest.raises(PolicyError, match="key 'disabled_rules'"):
        parse_policy("name: x\ndisabled_rules: 5\n", source="test")


def test_bad_severity_is_named_in_the_error():
    with pytest.raises(PolicyError, match="key 'fail_threshold'"):
        parse_policy("name: x\nfail_threshold: SEVERE\n", source="test")


def test_broken_yaml_reports_line_without_content():
    with pytest.raises(PolicyError, match=r"not valid YAML at line \d") as info:
        parse_policy("name: x\nsecret: [unclosed\n", source="test")
    assert "unclosed" not in str(info.value)


def test_non_mapping_policy_is_refused():
    with pytest.raises(PolicyError, match="must be a YAML mapping"):
        parse_policy("- a\n- b\n", source="test")


def test_policy_file_must_be_yaml_by_name(tmp_path: Path):
    path = tmp_path / "policy.txt"
    path.write_text("name: x\n")

    with pytest.raises(PolicyError, match=r"\.yaml or \.yml"):
        load_policy_file(path)


def test_missing_policy_file_is_a_policy_error(tmp_path: Path):
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy_file(tmp_path / "absent.yaml")


def test_fifo_named_like_a_policy_is_refused_without_blocking(tmp_path: Path):
    path = tmp_path / "team.yaml"
    os.mkfifo(path)

    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy_file(path)


def test_folder_named_like_a_policy_is_refused(tmp_path: Path):
    (tmp_path / "team.yaml").mkdir()

    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy_file(tmp_path / "team.yaml")


def test_oversized_policy_file_is_refused(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "#" * 300_000)

    with pytest.raises(PolicyError, match="larger than"):
        load_policy_file(path)


def test_valid_policy_file_loads(tmp_path: Path):
    path = tmp_path / "team.yaml"
    path.write_text("name: team\nfail_threshold: LOW\nseverity_overrides:\n  a.b: HIGH\n")

    policy = load_policy_file(path)

    assert policy.fail_threshold == Severity.LOW
    assert policy.override_for("a.b") == Severity.HIGH


@pytest.mark.parametrize(
    "policy",
    [
        Policy(name="p", disabled_rules=("exfil.dns-tunnel", "manifest.*", "exfil.http-p?st")),
        Policy(name="p", severity_overrides={"supply.typosquat": Severity.LOW, "*": Severity.INFO}),
    ],
)
def test_known_rule_ids_and_matching_patterns_pass(policy):
    check_rule_ids(policy, KNOWN)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            Policy(name="p", disabled_rules=("exfil.dns-tunnel", "exfil.dns-tunel")),
            "policy key 'disabled_rules': unknown rule id 'exfil.dns-tunel'; "
            "did you mean 'exfil.dns-tunnel'?",
        ),
        (
            Policy(name="p", severity_overrides={"supply_chain.typosquat": Severity.LOW}),
            "policy key 'severity_overrides': unknown rule id 'supply_chain.typosquat'; "
            "did you mean 'supply.typosquat'?",
        ),
        (
            Policy(name="p", disabled_rules=("secrets.*",)),
            "policy key 'disabled_rules': pattern 'secrets.*' matches no rule "
            "(rule ids are listed in docs/rules.md)",
        ),
        (
            Policy(name="p", disabled_rules=("x" * 500,)),
            f"policy key 'disabled_rules': unknown rule id '{'x' * 80}...' "
            "(rule ids are listed in docs/rules.md)",
        ),
    ],
)
def test_rule_id_or_pattern_matching_no_rule_is_refused_naming_it(policy, message):
    with pytest.raises(PolicyError) as info:
        check_rule_ids(policy, KNOWN)

    assert info.value.message == message


def documented_policies() -> list[tuple[str, str]]:
    docs = (REPO / "docs" / "policies.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
    shipped = sorted(policies_dir().glob("*.yaml"))
    return [("docs/policies.md", block) for block in blocks] + [
        (f"policies/{path.name}", path.read_text(encoding="utf-8")) for path in shipped
    ]


@pytest.mark.parametrize(("source", "text"), documented_policies())
def test_every_rule_id_in_the_docs_and_presets_is_real(source, text):
    import_plugins(())
    policy = parse_policy(text, source=source)

    check_rule_ids(policy, registry.rule_ids())
