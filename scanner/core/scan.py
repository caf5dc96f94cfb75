"""Pure steps of a scan: choosing analyzers, merging findings, the verdict.

The async driver (`scanner.engine`) loads the package and runs analyzers in
the sandbox; everything that decides what the result says lives here.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from scanner.core.errors import UnknownAnalyzerError
from scanner.core.models import (
    AnalyzerRun,
    Finding,
    ScanResult,
    Severity,
    finding_sort_key,
    max_severity,
)
from scanner.core.policy import DEFAULT_POLICY, Policy

# Findings about the form of SKILL.md that `lenient` accepts: still reported, at this
# severity. Nothing else is lowered: a frontmatter that hides an injection or a duplicated
# key that shows reviewers one description and the agent another stays as severe.
LENIENT_RULES = frozenset({"manifest.invalid-frontmatter", "manifest.missing-skill-md"})
LENIENT_SEVERITY = Severity.LOW

# Request flags that turn on optional analyzers, and the analyzer each one needs.
OPTIONAL_FLAGS: dict[str, str] = {
    "use_behavioral": "behavioral",
    "use_llm": "llm",
    "use_virustotal": "virustotal",
    "use_aidefense": "aidefense",
    "enable_meta": "meta",
}


class ScanOptions(BaseModel):
    """What a caller can ask of one scan (the same for API, CLI and library)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    use_behavioral: bool = Field(default=False, description="Run the dataflow analyzer.")
    use_llm: bool = Field(default=False, description="Ask an LLM to review the skill.")
    use_virustotal: bool = Field(default=False, description="Look up file hashes on VirusTotal.")
    use_aidefense: bool = Field(default=False, description="Send text to Cisco AI Defense.")
    enable_meta: bool = Field(default=False, description="Run the LLM meta pass over findings.")
    policy: str = Field(
        default=DEFAULT_POLICY,
        min_length=1,
        max_length=4096,
        description="`strict`, `balanced`, `permissive`, or an absolute path to a policy YAML.",
    )
    lenient: bool = Field(
        default=False,
        description="Accept a missing or broken SKILL.md frontmatter: report it at LOW "
        "instead of MEDIUM, so it fails no preset, and scan the skill even under a policy "
        "that rejects invalid manifests. Findings of attacks are never lowered.",
    )


def select_analyzers(
    options: ScanOptions, policy: Policy, default: list[str], registered: set[str]
) -> list[str]:
    """Return the analyzers to run, refusing flags whose analyzer is not built in.

    Raises:
        UnknownAnalyzerError: a flag asks for an analyzer this build lacks.
    """
    chosen = [name for name in default if name not in policy.disabled_analyzers]
    chosen += [name for name in policy.enabled_analyzers if name not in chosen]
    for flag, analyzer in OPTIONAL_FLAGS.items():
        if not getattr(options, flag):
            continue
        if analyzer not in registered:
            raise UnknownAnalyzerError(
                f"{flag}: the '{analyzer}' analyzer is not available in this version of the "
                f"scanner; remove the flag or set it to false"
            )
        if analyzer not in chosen:
            chosen.append(analyzer)
    return chosen


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop repeats of the same rule at the same place, keeping the most severe."""
    best: dict[tuple[str, str | None, int | None, str | None], Finding] = {}
    for finding in findings:
        key = (finding.rule_id, finding.file_path, finding.line_number, finding.snippet)
        kept = best.get(key)
        if kept is None or finding.severity.rank > kept.severity.rank:
            best[key] = finding
    return sorted(best.values(), key=finding_sort_key)


class ScanOutcome(BaseModel):
    """Raw material of a result before the policy is applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scan_id: str
    skill_name: str
    skill_directory: str | None
    findings: list[Finding]
    runs: list[AnalyzerRun]
    started: datetime
    duration_seconds: float
    incomplete_inputs: bool = False
    lenient: bool = False


def accept_manifest(findings: list[Finding]) -> list[Finding]:
    """Lower the findings about a missing or broken SKILL.md form to `LENIENT_SEVERITY`."""
    return [
        finding.model_copy(
            update={"severity": LENIENT_SEVERITY, "metadata": {**finding.metadata, "lenient": True}}
        )
        if finding.rule_id in LENIENT_RULES and finding.severity.rank > LENIENT_SEVERITY.rank
        else finding
        for finding in findings
    ]


def verdict(outcome: ScanOutcome, policy: Policy) -> ScanResult:
    """Apply `lenient`, then the policy, and compute the verdict of one scan."""
    raw = accept_manifest(outcome.findings) if outcome.lenient else outcome.findings
    findings = dedupe(policy.apply(raw))
    failed = [run for run in outcome.runs if run.status != "ok"]
    return ScanResult(
        scan_id=outcome.scan_id,
        skill_name=outcome.skill_name,
        skill_directory=outcome.skill_directory,
        # SECURITY: fail closed. An analyzer that crashed or timed out may have been
        # made to by the skill itself, so an incomplete scan never reads as safe.
        is_safe=not failed and not policy.fails(findings),
        max_severity=max_severity(findings),
        findings_count=len(findings),
        scan_duration_seconds=round(outcome.duration_seconds, 4),
        timestamp=outcome.started,
        findings=findings,
        analyzers_used=[run.analyzer for run in outcome.runs if run.status == "ok"],
        analyzers_failed=failed,
        policy=policy.name,
        complete=not failed and not outcome.incomplete_inputs,
    )
