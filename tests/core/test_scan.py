from datetime import UTC, datetime

from scanner.core.models import AnalyzerRun, Category, Finding, Severity
from scanner.core.policy import preset
from scanner.core.scan import ScanOutcome, verdict


def finding(rule_id: str, severity: Severity, category: Category = Category.MANIFEST) -> Finding:
    return Finding(
        rule_id=rule_id,
        category=category,
        severity=severity,
        title="t",
        description="d",
        file_path="SKILL.md",
        line_number=2,
        analyzer="manifest",
    )


def outcome(findings: list[Finding], *, lenient: bool) -> ScanOutcome:
    return ScanOutcome(
        scan_id="s",
        skill_name="x",
        skill_directory=None,
        findings=findings,
        runs=[AnalyzerRun(analyzer="manifest", status="ok", duration_ms=1.0)],
        started=datetime.now(UTC),
        duration_seconds=0.1,
        lenient=lenient,
    )


BROKEN = [
    finding("manifest.invalid-frontmatter", Severity.MEDIUM),
    finding("manifest.duplicate-key", Severity.MEDIUM),
]
INJECTED = finding("injection.ignore-instructions", Severity.HIGH, Category.PROMPT_INJECTION)


def test_lenient_reports_a_broken_or_missing_manifest_at_low_so_strict_passes_it():
    form = [
        finding("manifest.invalid-frontmatter", Severity.MEDIUM),
        finding("manifest.missing-skill-md", Severity.MEDIUM),
    ]

    plain = verdict(outcome(form, lenient=False), preset("strict"))
    lenient = verdict(outcome(form, lenient=True), preset("strict"))

    assert plain.is_safe is False
    assert lenient.is_safe is True
    assert sorted((f.rule_id, f.severity, f.metadata["lenient"]) for f in lenient.findings) == [
        ("manifest.invalid-frontmatter", Severity.LOW, True),
        ("manifest.missing-skill-md", Severity.LOW, True),
    ]


def test_lenient_never_lowers_an_attack_in_the_frontmatter():
    result = verdict(outcome([*BROKEN, INJECTED], lenient=True), preset("balanced"))

    severities = {f.rule_id: f.severity for f in result.findings}
    assert result.is_safe is False
    assert severities == {
        "injection.ignore-instructions": Severity.HIGH,
        "manifest.duplicate-key": Severity.MEDIUM,
        "manifest.invalid-frontmatter": Severity.LOW,
    }


def test_lenient_lowers_before_the_policy_so_permissive_hides_it():
    result = verdict(outcome(BROKEN, lenient=True), preset("permissive"))

    assert [f.rule_id for f in result.findings] == ["manifest.duplicate-key"]
