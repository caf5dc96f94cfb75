"""Policies: which findings are reported, which fail a skill, and rule overrides.

A policy is a preset shipped in `policies/` (strict, balanced, permissive) or a
YAML file given by path. Every file is validated by the `Policy` model: an
unknown key or a wrong type is a `PolicyError` naming the key; `check_rule_ids`
refuses rule ids and patterns that name no rule the scanner has.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import os
import stat
from enum import StrEnum
from functools import cache
from pathlib import Path

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from scanner.core.errors import PolicyError
from scanner.core.models import Finding, Severity

PRESETS = ("strict", "balanced", "permissive")
DEFAULT_POLICY = "balanced"
MAX_POLICY_BYTES = 256 * 1024
MAX_SHOWN_ID = 80


class InvalidManifestAction(StrEnum):
    """What to do with a skill whose SKILL.md frontmatter is missing or broken."""

    REPORT = "report"
    REJECT = "reject"


class Policy(BaseModel):
    """A validated policy document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    fail_threshold: Severity = Field(
        default=Severity.HIGH, description="The skill is unsafe when a finding reaches this."
    )
    report_threshold: Severity = Field(
        default=Severity.LOW, description="Findings below this severity are left out."
    )
    invalid_manifest: InvalidManifestAction = InvalidManifestAction.REPORT
    disabled_rules: tuple[str, ...] = Field(
        default=(), description="Rule ids or shell-style patterns (`manifest.*`)."
    )
    disabled_analyzers: tuple[str, ...] = ()
    enabled_analyzers: tuple[str, ...] = Field(
        default=(), description="Opt-in analyzers (activated by policy) to run as well."
    )
    severity_overrides: dict[str, Severity] = Field(
        default_factory=dict, description="Rule id (or pattern) to the severity to report."
    )

    def is_rule_disabled(self, rule_id: str) -> bool:
        """Return True when a disabled pattern matches the rule id."""
        return any(fnmatch.fnmatchcase(rule_id, pattern) for pattern in self.disabled_rules)

    def override_for(self, rule_id: str) -> Severity | None:
        """Return the overriding severity for a rule: an exact id wins over a pattern."""
        if rule_id in self.severity_overrides:
            return self.severity_overrides[rule_id]
        for pattern, severity in self.severity_overrides.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return severity
        return None

    def apply(self, findings: list[Finding]) -> list[Finding]:
        """Drop disabled and below-threshold findings and apply severity overrides."""
        kept: list[Finding] = []
        for finding in findings:
            if self.is_rule_disabled(finding.rule_id):
                continue
            override = self.override_for(finding.rule_id)
            if override is not None and override != finding.severity:
                finding = finding.model_copy(update={"severity": override})
            if finding.severity.rank >= self.report_threshold.rank:
                kept.append(finding)
        return kept

    def fails(self, findings: list[Finding]) -> bool:
        """Return True when any finding reaches the fail threshold."""
        return any(f.severity.rank >= self.fail_threshold.rank for f in findings)

    def digest(self) -> str:
        """Return a short hash of the policy's content, for logs and reports."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def check_rule_ids(policy: Policy, known: frozenset[str]) -> None:
    """Refuse ids and patterns of `disabled_rules` and `severity_overrides` that match no rule.

    A typo there would otherwise leave a rule on, or at its usual severity, silently.

    Raises:
        PolicyError: naming the key and the id, with the closest known id when there is one.
    """
    for key, entries in (
        ("disabled_rules", policy.disabled_rules),
        ("severity_overrides", tuple(policy.severity_overrides)),
    ):
        for entry in entries:
            if entry in known or (
                _is_pattern(entry) and any(fnmatch.fnmatchcase(rule, entry) for rule in known)
            ):
                continue
            raise PolicyError(f"policy key '{key}': {_unknown_rule(entry, known)}")


def _unknown_rule(entry: str, known: frozenset[str]) -> str:
    shown = entry if len(entry) <= MAX_SHOWN_ID else entry[:MAX_SHOWN_ID] + "..."
    close = difflib.get_close_matches(shown, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else " (rule ids are listed in docs/rules.md)"
    if _is_pattern(entry):
        return f"pattern {shown!r} matches no rule{hint}"
    return f"unknown rule id {shown!r}{hint}"


def _is_pattern(entry: str) -> bool:
    return any(char in entry for char in "*?[")


def policies_dir() -> Path:
    """Return the folder of the shipped presets (installed wheel or source tree)."""
    installed = Path(__file__).resolve().parents[1] / "_data" / "policies"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "policies"


def parse_policy(text: str, *, source: str) -> Policy:
    """Validate policy YAML text; errors name the key, never echo values."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"policy {source} is not valid YAML{where}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"policy {source} must be a YAML mapping of policy keys")
    try:
        return Policy.model_validate(data)
    except pydantic.ValidationError as exc:
        raise PolicyError(f"policy {source}: {_describe(exc)}") from exc


def _describe(exc: pydantic.ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        key = ".".join(str(p) for p in error["loc"]) or "(root)"
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"key '{key}': {reason}")
    return "; ".join(parts)


@cache
def preset(name: str) -> Policy:
    """Return a shipped preset by name."""
    if name not in PRESETS:
        raise PolicyError(f"unknown policy preset {name!r}; use one of {', '.join(PRESETS)}")
    path = policies_dir() / f"{name}.yaml"
    return parse_policy(path.read_text(encoding="utf-8"), source=f"preset '{name}'")


def load_policy_file(path: Path) -> Policy:
    """Read and validate a policy file the caller has already confined and resolved."""
    if path.suffix.lower() not in {".yaml", ".yml"}:
        raise PolicyError("a policy path must name a .yaml or .yml file")
    raw = _read_regular_file(path, MAX_POLICY_BYTES + 1)
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"the policy file is larger than {MAX_POLICY_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError("the policy file is not UTF-8 text") from exc
    return parse_policy(text, source=f"file '{path.name}'")


def _read_regular_file(path: Path, limit: int) -> bytes:
    """Read at most `limit` bytes of a regular file, refusing FIFOs, devices and folders.

    Raises:
        PolicyError: the path is missing, not a regular file, or unreadable.
    """
    # SECURITY: a FIFO or device named *.yaml would block a plain open() forever, and
    # policies are read on the server's event loop; O_NONBLOCK makes that open return.
    error = PolicyError("the policy file cannot be read (missing or not a file)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    except OSError as exc:
        raise error from exc
    finally:
        os.close(fd)
