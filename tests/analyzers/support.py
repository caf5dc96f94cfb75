"""Plain helpers shared by the analyzer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from scanner.analyzers import registry
from scanner.core.models import Finding, Severity, SkillPackage, max_severity

FRONTMATTER = "---\nname: {name}\ndescription: {description}\n---\n\n"
DEFAULT_DESCRIPTION = "Formats Markdown tables in the files the user names."


def skill_md(body: str, *, name: str = "test-skill", description: str = DEFAULT_DESCRIPTION) -> str:
    """Return a SKILL.md with valid frontmatter and `body`."""
    return FRONTMATTER.format(name=name, description=description) + body


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: content} under `root` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def run_analyzers(package: SkillPackage, *names: str) -> list[Finding]:
    """Run the named analyzers (all registered ones when none) on a package."""
    chosen = names or tuple(registry.names())
    return [finding for name in chosen for finding in registry.instance(name).analyze(package)]


def rule_ids(findings: list[Finding], *, at_least: Severity = Severity.INFO) -> set[str]:
    """Return the rule ids of findings at or above a severity."""
    return {f.rule_id for f in findings if f.severity.rank >= at_least.rank}


def worst(findings: list[Finding]) -> Severity | None:
    """Return the highest severity among findings."""
    return max_severity(findings)


def of_rule(findings: list[Finding], rule_id: str) -> list[Finding]:
    """Return the findings of one rule."""
    return [f for f in findings if f.rule_id == rule_id]


def steps_of(finding: Finding) -> list[dict[str, Any]]:
    """Return the flow path a behavioral finding carries in its metadata."""
    return cast(list[dict[str, Any]], finding.metadata["flow"])


def transforms_of(finding: Finding) -> list[str]:
    """Return the transforms a behavioral finding carries in its metadata."""
    return cast(list[str], finding.metadata["transforms"])
