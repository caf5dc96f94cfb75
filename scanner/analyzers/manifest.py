"""Check SKILL.md's frontmatter: presence, validity, naming, claims and permissions.

Rules:
    manifest.missing-skill-md (medium): the package has no SKILL.md.
    manifest.invalid-frontmatter (medium): frontmatter missing, unterminated, not at
        the start, unreadable YAML, aliases, not a mapping, bad encoding or too large;
        one finding quotes every message of the loader. The rest of the skill is still
        scanned in full. The `lenient` option reports these two at low (in the core).
        Low when the only fault is a plain value holding ": " on one-line keys.
    manifest.not-text (high): SKILL.md is binary data. No agent can follow it and no
        reviewer can read it, yet it sits where everyone expects plain instructions:
        corrupt at best, a disguised payload at worst. It replaces the frontmatter
        findings, and the per-line Unicode checks skip it (undecodable bytes decode to
        random letters of every script).
    manifest.duplicate-key (medium): a key appears twice; YAML readers disagree on which
        copy wins, so every copy is scanned (an injection in any copy is reported with
        the key name, e.g. `description`).
    manifest.name-missing, manifest.description-missing (low).
    manifest.name-invalid (low): not lower-case letters, digits and hyphens (1-64).
    manifest.description-short, manifest.description-long (low): under 20 or over
        1024 characters.
    manifest.readonly-claim-mismatch (high; medium for "read-only" next to a shell): the
        description promises read-only use or no commands, while `allowed-tools` grants
        unrestricted shell, write or web tools.
    manifest.offline-claim-mismatch (medium; high to untrusted hosts or when a request
        carries a body): the skill claims to stay local, while one of its scripts makes
        network requests.
    manifest.impersonation (low, medium naming a vendor): "official", "verified by
        Anthropic" and the like in the name or description.
    manifest.keyword-bait (low, medium for "always use this skill for every task"):
        descriptions stuffed with trigger words or claiming every request.
    Every frontmatter string (description, name, any other field) also goes through
    the signature rules that read Markdown prose, and is reported at its SKILL.md line.

False positives: descriptions that say "read-only" about the user's data while
legitimately running commands; very long but honest descriptions.

Limitations:
    Tool names are matched as Claude Code writes them (`Bash`, `Bash(*)`, `Write`,
    `WebFetch`); other agents' spellings are not mapped. Claims are matched in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import JsonValue

from scanner.analyzers._markdown import MarkdownDoc
from scanner.analyzers._rules import RuleSet, ScanTarget, default_ruleset, raise_to
from scanner.analyzers._text import FileType, LineIndex, file_type, make_snippet, normalize_newlines
from scanner.analyzers.base import Analyzer
from scanner.analyzers.registry import register
from scanner.core.models import (
    Category,
    Finding,
    Manifest,
    ManifestIssue,
    Severity,
    SkillFile,
    SkillPackage,
)
from scanner.intake.frontmatter import BROKEN_CODES, SKILL_NAME

MIN_DESCRIPTION = 20
MAX_DESCRIPTION = 1024
MAX_KEYWORDS = 25
SKILL_MD = "SKILL.md"

_DESCRIBE = "Say what the skill does and when to use it."
_UNREADABLE = frozenset({"yaml_error", "too_large", "too_deep", "yaml_fallback", "not_a_mapping"})
_BROAD_SHELL = re.compile(r"^(?:\*|Bash|Bash\(\s*\*?\s*(?::\s*\*)?\s*\)|Shell|Terminal)$", re.I)
_WRITE_TOOLS = frozenset({"write", "edit", "multiedit", "notebookedit", "*"})
_WEB_TOOLS = frozenset({"webfetch", "websearch", "*"})
_READONLY_CLAIM = re.compile(
    r"\bread[- ]only\b|\bnever\s+(?:edits?|modif\w*|writes?|changes?|runs?|executes?|touch\w*)\b"
    r"|\b(?:does\s+not|doesn'?t|won'?t|will\s+not|cannot)\s+(?:edit|modify|write|change|run"
    r"|execute|touch)\b|\bno\s+(?:commands|writes|edits|side[- ]effects)\b"
    r"|\bwithout\s+(?:running|executing|modifying|editing|changing)\b",
    re.I,
)
_COMMAND_CLAIM = re.compile(
    r"\bnever\s+(?:runs?|executes?)\b|\b(?:does\s+not|doesn'?t|won'?t|will\s+not)\s+(?:run|execute)"
    r"|\bno\s+commands\b|\bwithout\s+(?:running|executing)\b|\bread[- ]only\b",
    re.I,
)
_READ_ONLY_WORDS = re.compile(r"read[- ]only", re.I)
_OFFLINE_CLAIM = re.compile(
    r"\b(?:offline|no\s+network|never\s+(?:sends?|uploads?|connects?)|(?:does\s+not|doesn'?t"
    r"|won'?t)\s+(?:send|upload|connect|phone\s+home)|(?:stays?|runs?|works?)\s+(?:entirely\s+)?"
    r"(?:local(?:ly)?|on\s+your\s+machine)|local[- ]only|nothing\s+leaves)\b",
    re.I,
)
_NETWORK_CODE = re.compile(
    r"\b(?:requests|httpx|urllib\.request|urlopen|aiohttp|socket\.connect|fetch\(|axios|"
    r"curl\s|wget\s|Invoke-WebRequest|http\.request|http\.(?:Get|Post|NewRequest|Head)\s*\(|"
    r"Net::HTTP|reqwest::|ureq::|HttpClient)",
)
_SENDS_BODY = re.compile(
    r"\b(?:requests|httpx|session|client|axios)\.(?:post|put|patch)\s*\(|\bdata\s*=\s*(?!None\b)\w"
    r"|\bmethod\s*[:=]\s*[\"'](?:POST|PUT|PATCH)[\"']|\bcurl\b[^\n]{0,200}\s(?:-d|--data\S*|-F|-T)\s"
    r"|\bhttp\.(?:Post|NewRequest)\s*\(\s*(?:[\w.]+\s*,\s*)?\"?(?:POST|PUT|PATCH)|\bhttp\.Post\s*\(|Net::HTTP\.post",
)
_IMPERSONATION = re.compile(
    r"\b(?:official|verified|certified|approved|endorsed|authori[sz]ed|sanctioned)\b", re.I
)
_VENDOR = re.compile(
    r"\b(?:anthropic|openai|claude|chatgpt|google|microsoft|github|apple|aws)\b", re.I
)
# NOTE: "the official GitHub CLI" names a vendor's product; it is not a claim about the skill.
_VENDOR_PRODUCT = (
    r"(?!\s+(?:[A-Za-z][\w.-]*\s+){0,2}(?:cli|apis?|sdks?|client|librar(?:y|ies)|docs"
    r"|documentation|apps?|actions?|mcp|servers?|models?|plugins?|extensions?|packages?|tools?"
    r"|integrations?|endpoints?|images?|registry|marketplace)\b)"
)
_VENDOR_CLAIM = re.compile(
    r"\b(?:official|verified|certified|approved|endorsed|authori[sz]ed)\s+(?:by\s+)?(?:anthropic"
    r"|openai|claude|google|microsoft|github)\b"
    + _VENDOR_PRODUCT
    + r"|\b(?:anthropic|openai)[- ](?:official|verified"
    r"|certified|approved|security\s+team)\b|\b(?:by|from)\s+(?:the\s+)?(?:anthropic|openai)\s+team\b",
    re.I,
)
_ROUTING_BAIT = re.compile(
    r"\b(?:always|must)\s+(?:be\s+)?(?:use[ds]?|invoked?|loaded?|run|activated?)\b[^.]{0,40}?\b"
    r"(?:for|on|before|with)\s+(?:every|all|any)\s+(?:requests?|tasks?|messages?|prompts?"
    r"|conversations?|quer(?:y|ies)|questions?)\b|\buse\s+this\s+skill\s+for\s+(?:everything"
    r"|every\s+(?:request|task|message))\b",
    re.I,
)
_UNTRUSTED_HINT = re.compile(
    r"https?://(?:\d{1,3}\.){3}\d{1,3}|\.invalid\b|\.onion\b|http://(?!localhost|127\.)"
)


def _finding(
    rule_id: str,
    severity: Severity,
    title: str,
    description: str,
    *,
    category: Category = Category.MANIFEST,
    line: int | None = None,
    snippet: str | None = None,
    remediation: str = "",
    metadata: dict[str, JsonValue] | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        category=category,
        severity=severity,
        title=title,
        description=description,
        file_path=SKILL_MD,
        line_number=line,
        snippet=snippet,
        remediation=remediation,
        analyzer=ManifestAnalyzer.name,
        metadata=metadata or {},
    )


@register
class ManifestAnalyzer(Analyzer):
    """Judge the frontmatter, and scan every frontmatter value with the prose signatures."""

    name = "manifest"
    description = "SKILL.md frontmatter: validity, naming, claims versus permissions."

    RULES = (
        "manifest.missing-skill-md",
        "manifest.invalid-frontmatter",
        "manifest.not-text",
        "manifest.duplicate-key",
        "manifest.name-missing",
        "manifest.name-invalid",
        "manifest.description-missing",
        "manifest.description-short",
        "manifest.description-long",
        "manifest.readonly-claim-mismatch",
        "manifest.offline-claim-mismatch",
        "manifest.impersonation",
        "manifest.keyword-bait",
    )

    def __init__(self) -> None:
        self._rules: RuleSet = default_ruleset()

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the manifest findings of a package."""
        manifest = package.manifest
        if manifest is None:
            return [_missing_skill_md()]
        source = _skill_md(package)
        lines = _KeyLines(manifest, source)
        findings = list(_issue_findings(manifest))
        unreadable = any(issue.code in _UNREADABLE for issue in manifest.issues)
        if unreadable and manifest.raw_frontmatter:
            findings += self._scan_raw(manifest)
        else:
            findings += self._value_findings(manifest, lines)
        findings += _field_findings(manifest, lines)
        findings += _claim_findings(package, manifest, lines)
        return findings

    def _value_findings(self, manifest: Manifest, lines: _KeyLines) -> list[Finding]:
        findings: list[Finding] = []
        for key, copy, value in _frontmatter_values(manifest):
            line = lines.line(key, copy)
            findings += self._scan_value(key, copy, value, line, key in manifest.duplicates)
        return findings

    def _scan_value(
        self, key: str, copy: int, value: str, line: int | None, duplicated: bool
    ) -> list[Finding]:
        text = normalize_newlines(value)
        target = ScanTarget(text, FileType.MARKDOWN, MarkdownDoc(text))
        findings = []
        for hit in self._rules.scan(target):
            spec = hit.rule.spec
            severity = raise_to(hit.severity, Severity.MEDIUM) if duplicated else hit.severity
            where = f"copy {copy + 1} of the duplicated `{key}`" if duplicated else f"`{key}`"
            findings.append(
                _finding(
                    spec.id,
                    severity,
                    f"{spec.title} (in frontmatter `{key}`)",
                    f"In the frontmatter field {where}: {spec.description.strip()}",
                    category=spec.category,
                    line=line,
                    snippet=hit.snippet,
                    remediation=spec.remediation.strip(),
                    metadata={"field": key, "copy": copy + 1, "duplicated": duplicated},
                )
            )
        return findings

    def _scan_raw(self, manifest: Manifest) -> list[Finding]:
        """Scan a frontmatter whose YAML could not be read, as plain text."""
        text = normalize_newlines(manifest.raw_frontmatter or "")
        target = ScanTarget(text, FileType.MARKDOWN, MarkdownDoc(text))
        offset = manifest.frontmatter_line
        return [
            _finding(
                hit.rule.id,
                hit.severity,
                f"{hit.rule.spec.title} (in unreadable frontmatter)",
                hit.rule.spec.description.strip(),
                category=hit.rule.spec.category,
                line=offset + hit.line,
                snippet=hit.snippet,
                remediation=hit.rule.spec.remediation.strip(),
            )
            for hit in self._rules.scan(target)
        ]


def _missing_skill_md() -> Finding:
    return Finding(
        rule_id="manifest.missing-skill-md",
        category=Category.MANIFEST,
        severity=Severity.MEDIUM,
        title="No SKILL.md",
        description="The package has no SKILL.md, so nothing declares what the skill is or does.",
        remediation="Add a SKILL.md with `name` and `description` frontmatter.",
        analyzer=ManifestAnalyzer.name,
    )


def _skill_md(package: SkillPackage) -> SkillFile | None:
    exact = package.file(SKILL_MD)
    if exact is not None:
        return exact
    return next((item for item in package.files if item.path.lower() == "skill.md"), None)


class _KeyLines:
    """Find the SKILL.md line of each top-level frontmatter key (and of each copy)."""

    def __init__(self, manifest: Manifest, source: SkillFile | None) -> None:
        self._lines: dict[str, list[int]] = {}
        text = normalize_newlines(source.text or "") if source is not None else ""
        if manifest.raw_frontmatter is None or not text:
            return
        index = LineIndex(text)
        last = min(manifest.body_line - 1, index.line_of(len(text)))
        for number in range(manifest.frontmatter_line, last + 1):
            match = re.match(r"^([A-Za-z_][\w.-]*)\s*:", index.line_text(number))
            if match:
                self._lines.setdefault(match.group(1), []).append(number)

    def line(self, key: str, copy: int = 0) -> int | None:
        """Return the line of the `copy`-th occurrence of `key`, if known."""
        found = self._lines.get(key, [])
        return found[min(copy, len(found) - 1)] if found else None


def _issue_findings(manifest: Manifest) -> Iterator[Finding]:
    broken = [issue for issue in manifest.issues if issue.code in BROKEN_CODES]
    if broken:
        yield _invalid_frontmatter(broken)
    for issue in manifest.issues:
        if issue.code == "not_text":
            yield _not_text(issue)
        elif issue.code == "yaml_lenient" and not broken:
            yield _finding(
                "manifest.invalid-frontmatter",
                Severity.LOW,
                "SKILL.md frontmatter holds an unquoted ': '",
                f"{issue.message} ({issue.code}).",
                line=issue.line,
                remediation="Quote values that contain ': '.",
                metadata={"code": issue.code},
            )
        elif issue.code == "duplicate_key":
            key = _duplicate_name(issue.message, manifest)
            yield _finding(
                "manifest.duplicate-key",
                Severity.MEDIUM,
                f"Duplicate frontmatter key `{key}`",
                f"{issue.message} Readers disagree on which copy of `{key}` wins, so "
                "a reviewer may see a different value from the agent.",
                line=issue.line,
                remediation="Keep one copy of each key.",
                metadata={"key": key, "copies": len(manifest.duplicates.get(key, []))},
            )


def _not_text(issue: ManifestIssue) -> Finding:
    return _finding(
        "manifest.not-text",
        Severity.HIGH,
        "SKILL.md is not text",
        f"{issue.message}. An agent cannot follow binary data as instructions and a "
        "reviewer cannot read it; a binary where the manifest belongs is corrupt or hides "
        "something under the one file everyone expects to be plain text.",
        remediation="Replace SKILL.md with UTF-8 Markdown: YAML frontmatter, then instructions.",
    )


def _invalid_frontmatter(issues: list[ManifestIssue]) -> Finding:
    """Return one finding for all the problems of one frontmatter.

    A YAML error and the line-by-line reading that followed it are one problem to the
    author, so they are one finding, located at the first problem with a line.
    """
    located = next((issue for issue in issues if issue.line is not None), issues[0])
    problems = "; ".join(f"{issue.message} ({issue.code})" for issue in issues)
    return _finding(
        "manifest.invalid-frontmatter",
        Severity.MEDIUM,
        "SKILL.md frontmatter is missing or invalid",
        f"{problems}. The skill was scanned as fully as any other.",
        line=located.line,
        remediation="Start SKILL.md with a `---` YAML block holding name and description.",
        metadata={"code": issues[0].code, "codes": [issue.code for issue in issues]},
    )


def _duplicate_name(message: str, manifest: Manifest) -> str:
    for key in manifest.duplicates:
        if key in message:
            return key
    return next(iter(manifest.duplicates), "?")


def _frontmatter_values(manifest: Manifest) -> Iterator[tuple[str, int, str]]:
    """Yield (key, copy index, text) for every string value, every copy of duplicates."""
    for key, value in manifest.data.items():
        copies = manifest.duplicates.get(key) or [value]
        for copy, item in enumerate(copies):
            for text in _strings(item):
                yield key, copy, text


def _strings(value: JsonValue, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < 4 and isinstance(value, list):
        for item in value[:200]:
            yield from _strings(item, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for item in list(value.values())[:200]:
            yield from _strings(item, depth + 1)


def _field_findings(manifest: Manifest, lines: _KeyLines) -> Iterator[Finding]:
    if manifest.raw_frontmatter is None:
        return
    name = manifest.text_field("name")
    if not name:
        yield _finding(
            "manifest.name-missing",
            Severity.LOW,
            "No `name` in the frontmatter",
            "The frontmatter has no `name`.",
            remediation="Add `name: my-skill`.",
        )
    elif not SKILL_NAME.fullmatch(name):
        yield _finding(
            "manifest.name-invalid",
            Severity.LOW,
            "Skill name is not a valid id",
            "`name` should be lower-case letters, digits and hyphens, 1-64 characters.",
            line=lines.line("name"),
            snippet=make_snippet(name),
            remediation="Rename the skill, e.g. `pdf-report-helper`.",
        )
    yield from _description_findings(manifest.text_field("description"), lines)


def _description_findings(description: str | None, lines: _KeyLines) -> Iterator[Finding]:
    line = lines.line("description")
    if not description:
        yield _finding(
            "manifest.description-missing",
            Severity.LOW,
            "No `description`",
            "Without a description the agent cannot tell when to use the skill.",
            remediation=_DESCRIBE,
        )
        return
    size = len(description.strip())
    if size < MIN_DESCRIPTION or size > MAX_DESCRIPTION:
        short = size < MIN_DESCRIPTION
        yield _finding(
            "manifest.description-short" if short else "manifest.description-long",
            Severity.LOW,
            "Description is very short" if short else "Description is very long",
            f"The description has {size} characters"
            + ("." if short else f" (over {MAX_DESCRIPTION})."),
            line=line,
            remediation=_DESCRIBE if short else "Keep the description to a short paragraph.",
        )
    yield from _bait_findings(description, line)


def _bait_findings(description: str, line: int | None) -> Iterator[Finding]:
    routing = _ROUTING_BAIT.search(description)
    if routing is not None:
        yield _finding(
            "manifest.keyword-bait",
            Severity.MEDIUM,
            "Description claims every request",
            "The description asks to be used for every request, to hijack routing.",
            category=Category.PROMPT_INJECTION,
            line=line,
            snippet=make_snippet(routing.group()),
            remediation="Describe the tasks the skill is for.",
        )
    elif description.count(",") + description.count(";") >= MAX_KEYWORDS:
        yield _finding(
            "manifest.keyword-bait",
            Severity.LOW,
            "Description is a keyword list",
            "The description lists many trigger words, to be picked for unrelated tasks.",
            line=line,
            remediation="Describe the tasks the skill is for.",
        )


def _claim_findings(package: SkillPackage, manifest: Manifest, lines: _KeyLines) -> list[Finding]:
    description = manifest.text_field("description") or ""
    findings = list(_tool_mismatch(manifest, description, lines))
    findings += _offline_mismatch(package, description, lines)
    findings += _impersonation(manifest, description, lines)
    return findings


def allowed_tools(manifest: Manifest) -> list[str]:
    """Return `allowed-tools` as a list of tool specs, whatever its YAML shape."""
    value = manifest.data.get("allowed-tools", manifest.data.get("allowed_tools"))
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    if not isinstance(value, str):
        return []
    return [part.strip() for part in re.split(r",(?![^()]*\))|\s{2,}", value) if part.strip()]


def _tool_mismatch(manifest: Manifest, description: str, lines: _KeyLines) -> Iterator[Finding]:
    tools = allowed_tools(manifest)
    lowered = {tool.lower() for tool in tools}
    shell = [tool for tool in tools if _BROAD_SHELL.match(tool)]
    writes = lowered & _WRITE_TOOLS
    granted: list[str] = []
    claim = _COMMAND_CLAIM.search(description)
    if shell and claim:
        granted += shell
    if writes and _READONLY_CLAIM.search(description):
        granted += sorted(writes)
    if not granted:
        return
    # NOTE: "read-only" next to a shell often describes the data ("a read-only view of
    # the account") while scripts run: medium. "Never runs commands" with a shell, or
    # "read-only" with write tools, contradicts the grant itself: high.
    loose = not writes and all(
        _READ_ONLY_WORDS.fullmatch(match.group()) for match in _COMMAND_CLAIM.finditer(description)
    )
    yield _finding(
        "manifest.readonly-claim-mismatch",
        Severity.MEDIUM if loose else Severity.HIGH,
        "Description claims read-only use but broad tools are granted",
        "The description promises no commands or no edits, yet `allowed-tools` grants "
        f"{', '.join(granted)}. Users trust the description; the agent gets the tools.",
        category=Category.DESCRIPTION_MISMATCH,
        line=lines.line("allowed-tools") or lines.line("description"),
        snippet=make_snippet(", ".join(tools)),
        remediation="Grant only the tools the description promises, e.g. `Read, Grep`.",
        metadata={"tools": ", ".join(granted)},
    )


def _offline_mismatch(
    package: SkillPackage, description: str, lines: _KeyLines
) -> Iterator[Finding]:
    if not _OFFLINE_CLAIM.search(description):
        return
    for item in package.files:
        kind = file_type(item)
        if kind in (None, FileType.MARKDOWN) or item.text is None:
            continue
        if _NETWORK_CODE.search(item.text):
            # NOTE: a promise that data stays local, broken by a request that carries a body.
            sends = bool(_UNTRUSTED_HINT.search(item.text) or _SENDS_BODY.search(item.text))
            yield _finding(
                "manifest.offline-claim-mismatch",
                Severity.HIGH if sends else Severity.MEDIUM,
                "Description claims to stay local but a script uses the network",
                f"The description promises local-only use; `{item.path}` makes network calls.",
                category=Category.DESCRIPTION_MISMATCH,
                line=lines.line("description"),
                remediation="Make the description match the code, or remove the network calls.",
                metadata={"file": item.path},
            )
            return


def _impersonation(manifest: Manifest, description: str, lines: _KeyLines) -> Iterator[Finding]:
    name = manifest.text_field("name") or ""
    text = f"{name} {description}"
    vendor = _VENDOR_CLAIM.search(text)
    if vendor is not None:
        yield _finding(
            "manifest.impersonation",
            Severity.MEDIUM,
            "Skill claims endorsement by a vendor",
            "The name or description claims to be official, verified or approved by "
            "an AI vendor; skills cannot carry such endorsements.",
            line=lines.line("description"),
            snippet=make_snippet(vendor.group()),
            remediation="Remove the claim.",
        )
    elif _IMPERSONATION.search(name) and _VENDOR.search(name):
        yield _finding(
            "manifest.impersonation",
            Severity.LOW,
            "Skill name claims official status",
            "The skill name combines a vendor name with official/verified wording.",
            line=lines.line("name"),
            snippet=make_snippet(name),
            remediation="Rename the skill.",
        )
