"""Values that flow through a scan: the package snapshot, findings and results.

Every model is frozen and refuses unknown fields, so a value that crosses a
boundary (HTTP, sandbox, report) is exactly what its schema says.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """How bad a finding is; ordered from INFO to CRITICAL."""

    INFO = "INFO"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """Return the position of this severity, INFO being 0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {sev: i for i, sev in enumerate(Severity)}


class Category(StrEnum):
    """What kind of threat a finding describes."""

    PROMPT_INJECTION = "prompt_injection"
    HIDDEN_CONTENT = "hidden_content"
    UNICODE_SMUGGLING = "unicode_smuggling"
    HOMOGLYPH = "homoglyph"
    COMMAND_INJECTION = "command_injection"
    CODE_INJECTION = "code_injection"
    REMOTE_CODE_EXECUTION = "remote_code_execution"
    DATA_EXFILTRATION = "data_exfiltration"
    CREDENTIAL_ACCESS = "credential_access"
    HARDCODED_SECRET = "hardcoded_secret"  # noqa: S105 - a category name, not a secret
    OBFUSCATION = "obfuscation"
    PERSISTENCE = "persistence"
    PRIVILEGE_ESCALATION = "privilege_escalation"
    RESOURCE_ABUSE = "resource_abuse"
    SUPPLY_CHAIN = "supply_chain"
    PATH_TRAVERSAL = "path_traversal"
    DISGUISED_BINARY = "disguised_binary"
    COMPILED_WITHOUT_SOURCE = "compiled_without_source"
    AGENT_CONFIG_TAMPERING = "agent_config_tampering"
    DESTRUCTIVE_ACTION = "destructive_action"
    EXCESSIVE_PERMISSIONS = "excessive_permissions"
    DESCRIPTION_MISMATCH = "description_mismatch"
    MANIFEST = "manifest"
    PACKAGE_INTEGRITY = "package_integrity"
    ANALYSIS_COVERAGE = "analysis_coverage"


class Finding(BaseModel):
    """One reported problem, located in the skill."""

    model_config = _FROZEN

    rule_id: str = Field(
        description="Stable identifier of the rule, e.g. `exfil.curl-post-secrets`."
    )
    category: Category
    severity: Severity
    title: str
    description: str
    file_path: str | None = Field(
        default=None, description="Path relative to the skill root, `/`-separated."
    )
    line_number: int | None = Field(default=None, ge=1, description="1-based line.")
    snippet: str | None = Field(default=None, description="Matched text, secrets redacted.")
    remediation: str = ""
    analyzer: str
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class FileKind(StrEnum):
    """How the loader could read a file."""

    TEXT = "text"
    BINARY = "binary"


class SkillFile(BaseModel):
    """One regular file of the skill, read once by the loader."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    path: str = Field(description="Relative path, `/`-separated, odd bytes escaped.")
    size: int
    sha256: str
    kind: FileKind
    detected_type: str = Field(description="Type from content: `text`, `elf`, `pyc`, `zip`, ...")
    encoding: str | None = None
    text: str | None = Field(default=None, description="Decoded text when `kind` is text.")
    data: bytes | None = Field(default=None, description="Raw bytes of a binary file (capped).")
    truncated: bool = Field(default=False, description="Only a prefix was read (size cap).")
    name_escaped: bool = Field(default=False, description="The name held undecodable bytes.")

    @property
    def suffix(self) -> str:
        """Return the lower-case extension including the dot, or ''."""
        name = self.path.rsplit("/", 1)[-1]
        dot = name.rfind(".")
        return name[dot:].lower() if dot > 0 else ""


class ManifestIssue(BaseModel):
    """A problem found while reading SKILL.md frontmatter."""

    model_config = _FROZEN

    code: str = Field(description="e.g. `missing`, `unterminated`, `yaml_error`, `duplicate_key`.")
    message: str
    line: int | None = None


class Manifest(BaseModel):
    """SKILL.md, split into frontmatter and body; problems kept as data."""

    model_config = _FROZEN

    raw_frontmatter: str | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
    duplicates: dict[str, list[JsonValue]] = Field(
        default_factory=dict, description="Every value of each key that appeared more than once."
    )
    issues: tuple[ManifestIssue, ...] = ()
    body: str = ""
    body_line: int = Field(default=1, description="Line of SKILL.md where the body starts.")
    frontmatter_line: int = Field(default=1, description="Line of the opening `---`.")

    @property
    def is_valid(self) -> bool:
        """Return True when the frontmatter parsed without any issue."""
        return not self.issues

    def text_field(self, key: str) -> str | None:
        """Return a frontmatter value as text, or None when absent or not a scalar."""
        value = self.data.get(key)
        if isinstance(value, str | int | float | bool):
            return str(value)
        return None


class SkippedEntry(BaseModel):
    """A directory entry the loader did not read, and why."""

    model_config = _FROZEN

    path: str
    reason: str = Field(description="`symlink`, `special_file`, `too_many_files`, `too_large`, ...")
    detail: str = ""


class SkillPackage(BaseModel):
    """Read-only snapshot of a skill folder: what every analyzer looks at."""

    model_config = _FROZEN

    name: str
    root_name: str = Field(description="Name of the skill folder.")
    manifest: Manifest | None = Field(default=None, description="None when SKILL.md is absent.")
    files: tuple[SkillFile, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    total_bytes: int = 0

    def file(self, path: str) -> SkillFile | None:
        """Return the file at a relative path, if the package has it."""
        for item in self.files:
            if item.path == path:
                return item
        return None


class AnalyzerRun(BaseModel):
    """How one analyzer fared in one scan."""

    model_config = _FROZEN

    analyzer: str
    status: Annotated[str, Field(description="`ok` or `failed`.")]
    code: str | None = Field(default=None, description="Why it failed: `timeout`, `crashed`, ...")
    message: str | None = None
    duration_ms: float = 0.0
    findings: int = 0


class ScanResult(BaseModel):
    """The verdict and findings of one skill scan."""

    model_config = _FROZEN

    scan_id: str
    skill_name: str
    skill_directory: str | None = None
    is_safe: bool
    max_severity: Severity | None
    findings_count: int
    scan_duration_seconds: float
    timestamp: datetime
    findings: list[Finding]
    analyzers_used: list[str]
    analyzers_failed: list[AnalyzerRun]
    policy: str
    complete: bool = Field(description="False when an analyzer failed or a file was skipped.")


def max_severity(findings: list[Finding]) -> Severity | None:
    """Return the highest severity among findings, or None for none."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


def finding_sort_key(finding: Finding) -> tuple[Any, ...]:
    """Order findings by severity (worst first), then file, line and rule."""
    return (
        -finding.severity.rank,
        finding.file_path or "",
        finding.line_number or 0,
        finding.rule_id,
    )
