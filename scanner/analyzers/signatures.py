"""Match every text file against the signature rule packs of `scanner/rules/`.

Rules are data: one YAML pack per category (prompt injection, command injection and
remote code execution, exfiltration and credential access, secrets, obfuscation,
persistence, resource abuse, supply chain, privilege, path traversal), each rule with
its id, severity, file types, Markdown regions, patterns and examples. The rule
reference is generated from the packs; `rule_count()` counts them with the checks below.

Severity follows evidence, not words:

- A network call alone is nothing; a credential read or an environment dump is low to
  medium alone, high with a network send in the same file (or Markdown section), and
  critical when the destination is a public IP, reserved host, paste site, tunnel,
  request catcher or plain HTTP. A token sent to its own vendor's API is not reported.
- In Markdown, text that frames a hit as coercive or secret ("without asking",
  "silently", "before first use") raises it one level; a negated mention ("never run
  `rm -rf /`", "we do not pipe downloads into a shell") drops it to INFO, and so does a
  quoted or fenced hit framed as security education (a heading or sentence about
  injection, attacks, red flags, "do not follow").
- Official installers (rustup, uv, Docker...) piped into a shell are low, GitHub-hosted
  ones medium, unknown hosts high, untrusted ones or `| sudo sh` critical.

Checks in code, besides the packs:

- `py.*` (Python syntax tree, per file): `py.shell-injection` (high),
  `py.dynamic-exec` (high on input, medium otherwise), `py.exec-decoded` and
  `py.exec-remote` (critical), `py.env-exfiltration` (high/critical),
  `py.credential-file` (medium/high/critical), `py.dns-exfiltration` (high),
  `py.path-traversal` (high on write, medium on read), `py.tar-extract` (medium),
  `py.unsafe-deserialization` (critical from the network, high from input, low otherwise).
- `obfusc.encoded-payload`: base64, hex and compressed blobs, and literals handed to
  base85, ascii85, rot13 or reversal, are decoded and scanned with every rule; the blob
  is reported high, critical when what it hides is high.
- `supply.typosquat` (high at one edit, medium at two) and `supply.lookalike-domain`
  (high), against the popular names listed in `supply_chain.yaml`.
- `shell.*` (shell scripts and the fenced shell blocks of Markdown, parsed with
  tree-sitter; see `_shellchecks.py`): `shell.secret-to-network` (high, critical to an
  untrusted host), `shell.download-to-exec` (high; low from an official installer,
  medium from a release host, critical from an untrusted one) and `shell.encoded-exec`
  (high, critical when the encoded data was downloaded or secret), for flows that cross
  lines, variables and functions; a flow a regex rule already reports is not repeated.

Secrets are masked in every snippet (first four characters, then ``***``).

False positives: security-training text that quotes attacks without saying so;
installers of vendors missing from the installer list (high); scripts that append to
files and also name shell start-up files for another reason; `shell=True` with an
f-string built only from trusted values (high by design).

Limitations:
    No data flow across files or through Python function returns (the behavioral
    analyzer's job). JavaScript is matched by regex only; shell data flow stays inside
    one file, and commands in inline code spans are read by the regex rules only. XOR
    with a key and custom encodings are caught only when decoded and executed in
    Python. Markdown context is judged on the sentence around a hit, the paragraph that
    introduces a code block and the headings above it; English cues only.
"""

from __future__ import annotations

import re

from pydantic import JsonValue

from scanner.analyzers._decode import (
    Blob,
    DecodedBlob,
    decode_blobs,
    explicit_decodes,
    find_blobs,
    guess_type,
)
from scanner.analyzers._markdown import MarkdownDoc
from scanner.analyzers._pyast import CHECKS as PY_CHECKS
from scanner.analyzers._pyast import CodeCheck, CodeHit, PythonChecker, PythonFacts
from scanner.analyzers._rules import Hit, ScanTarget, default_ruleset
from scanner.analyzers._shellchecks import CHECKS as SHELL_CHECKS
from scanner.analyzers._shellchecks import shell_hits
from scanner.analyzers._supply import CHECKS as SUPPLY_CHECKS
from scanner.analyzers._supply import LookalikeChecker, SupplyHit
from scanner.analyzers._text import FileType, LineIndex, file_type, make_snippet, normalize_newlines
from scanner.analyzers.base import Analyzer
from scanner.analyzers.behavioral.shell import shell_role
from scanner.analyzers.registry import register
from scanner.core.models import Category, Finding, Severity, SkillFile, SkillPackage

ENCODED_PAYLOAD = CodeCheck(
    "obfusc.encoded-payload",
    "Encoded blob hides code or instructions",
    Category.OBFUSCATION,
    "A base64, hex or compressed blob decodes to text that other rules flag: the "
    "payload is hidden from review but not from the interpreter or the agent.",
    "Ship code and instructions in readable form.",
)
_CREDENTIAL_STORES = (
    r"{{secret_path}}|\b(?:Login Data|logins\.json|key4\.db|Cookies|wallet\.dat)\b"
    r"|\.(?:bash|zsh)_history\b|\.claude[/\\]+\.credentials\.json|\.codex[/\\]+auth\.json"
)
_MAX_DECODE_DEPTH = 2
_PREVIEW_CHARS = 200


@register
class SignaturesAnalyzer(Analyzer):
    """Apply the YAML signature packs, the Python checks and the decoders to every text file."""

    name = "signatures"
    description = "Signature rules (YAML packs), Python syntax checks and blob decoding."

    def __init__(self) -> None:
        self._rules = default_ruleset()
        flags = re.IGNORECASE
        self._python = PythonChecker(
            re.compile(self._rules.expand(_CREDENTIAL_STORES), flags),
            re.compile(self._rules.expand("{{untrusted_dest}}"), flags),
        )
        spec = self._rules.typosquat
        self._lookalikes = LookalikeChecker(spec) if spec is not None else None

    def rule_count(self) -> int:
        """Return the YAML rules plus the checks implemented in code."""
        return len(self._rules.rules) + len(PY_CHECKS) + len(SUPPLY_CHECKS) + len(SHELL_CHECKS) + 1

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the findings of every text file of the package."""
        findings: list[Finding] = []
        frontmatter = _frontmatter_span(package)
        for item in package.files:
            kind = file_type(item)
            if kind is None or item.text is None:
                continue
            text = normalize_newlines(item.text)
            skip = frontmatter if item is _manifest_file(package) else (0, 0)
            findings.extend(self._scan_file(item, text, kind, skip))
        return findings

    def _scan_file(
        self, item: SkillFile, text: str, kind: FileType, skip: tuple[int, int]
    ) -> list[Finding]:
        doc = MarkdownDoc(text, skip=skip) if kind is FileType.MARKDOWN else None
        python = self._python.check(text) if kind is FileType.PYTHON else None
        target = ScanTarget(text, kind, doc, python_parsed=python is not None)
        findings = [self._rule_finding(item.path, hit) for hit in self._rules.scan(target)]
        index = target.index
        if python is not None:
            findings.extend(self._code_finding(item.path, hit, index) for hit in python[0])
        if kind in (FileType.SHELL, FileType.MARKDOWN) and shell_role(item) is not None:
            shell = shell_hits(item.path, text, doc, index, findings)
            findings.extend(self._code_finding(item.path, hit, index) for hit in shell)
        findings.extend(self._decoded_findings(item.path, text, index, python))
        if self._lookalikes is not None:
            supply = self._lookalikes.check(text, kind, item.path)
            findings.extend(self._supply_finding(item.path, hit, index) for hit in supply)
        return findings

    def _rule_finding(self, path: str, hit: Hit) -> Finding:
        spec = hit.rule.spec
        metadata: dict[str, JsonValue] = {"context": hit.verdict.value}
        if hit.severity is not spec.severity:
            metadata["base_severity"] = spec.severity.value
        if hit.masked_secret is not None:
            metadata["secret"] = hit.masked_secret
        return Finding(
            rule_id=spec.id,
            category=spec.category,
            severity=hit.severity,
            title=spec.title,
            description=spec.description.strip(),
            file_path=path,
            line_number=hit.line,
            snippet=hit.snippet,
            remediation=spec.remediation.strip(),
            analyzer=self.name,
            metadata=metadata,
        )

    def _code_finding(self, path: str, hit: CodeHit, index: LineIndex) -> Finding:
        line = min(max(hit.line, 1), index.line_of(len(index.text)))
        return self._check_finding(
            hit.check, hit.severity, path, line, index, f"Here {hit.detail}.", hit.metadata
        )

    def _supply_finding(self, path: str, hit: SupplyHit, index: LineIndex) -> Finding:
        detail = f"`{hit.name}` is {hit.distance} edit(s) from `{hit.similar_to}`."
        metadata: dict[str, JsonValue] = {
            "name": hit.name,
            "similar_to": hit.similar_to,
            "distance": hit.distance,
        }
        return self._check_finding(hit.check, hit.severity, path, hit.line, index, detail, metadata)

    def _check_finding(
        self,
        check: CodeCheck,
        severity: Severity,
        path: str,
        line: int,
        index: LineIndex,
        detail: str,
        metadata: dict[str, JsonValue],
    ) -> Finding:
        return Finding(
            rule_id=check.id,
            category=check.category,
            severity=severity,
            title=check.title,
            description=f"{check.description} {detail}",
            file_path=path,
            line_number=line,
            snippet=make_snippet(self._rules.redact(index.line_text(line))),
            remediation=check.remediation,
            analyzer=self.name,
            metadata=metadata,
        )

    def _decoded_findings(
        self,
        path: str,
        text: str,
        index: LineIndex,
        python: tuple[list[CodeHit], PythonFacts] | None,
    ) -> list[Finding]:
        if python is not None:
            blobs = [Blob(_offset_of_line(index, line), s) for s, line in python[1].strings]
        else:
            blobs = find_blobs(text)
        findings = []
        for decoded in [*decode_blobs(blobs), *explicit_decodes(text)]:
            inner = self._inner_hits(decoded.text, _MAX_DECODE_DEPTH)
            if inner:
                findings.append(self._payload_finding(path, index, decoded, inner))
        return findings

    def _payload_finding(
        self, path: str, index: LineIndex, decoded: DecodedBlob, inner: list[tuple[str, Severity]]
    ) -> Finding:
        worst = max((sev for _, sev in inner), key=lambda s: s.rank)
        severity = Severity.CRITICAL if worst.rank >= Severity.HIGH.rank else Severity.HIGH
        rules = sorted({rule for rule, _ in inner})
        metadata: dict[str, JsonValue] = {
            "encoding": decoded.encoding,
            "decoded_preview": make_snippet(self._rules.redact(decoded.text), _PREVIEW_CHARS),
            "inner_rules": _json_list(rules),
        }
        detail = f"It decodes ({decoded.encoding}) to content flagged by: {', '.join(rules)}."
        line = index.line_of(decoded.start)
        return self._check_finding(ENCODED_PAYLOAD, severity, path, line, index, detail, metadata)

    def _inner_hits(self, text: str, depth: int) -> list[tuple[str, Severity]]:
        """Return (rule id, severity) of what decoded text triggers at MEDIUM or above."""
        kind = guess_type(text)
        target = ScanTarget(normalize_newlines(text), kind)
        found = [(hit.rule.id, hit.severity) for hit in self._rules.scan(target)]
        if kind is FileType.PYTHON:
            code = self._python.check(text)
            found += [(hit.check.id, hit.severity) for hit in code[0]] if code else []
        if depth > 1:
            for decoded in decode_blobs(find_blobs(text)):
                found += self._inner_hits(decoded.text, depth - 1)
        return [(rule, sev) for rule, sev in found if sev.rank >= Severity.MEDIUM.rank]


def _json_list(items: list[str]) -> list[JsonValue]:
    return list(items)


def _manifest_file(package: SkillPackage) -> SkillFile | None:
    exact = package.file("SKILL.md")
    if exact is not None:
        return exact
    return next((item for item in package.files if item.path.lower() == "skill.md"), None)


def _frontmatter_span(package: SkillPackage) -> tuple[int, int]:
    """Return the offsets of SKILL.md's frontmatter block (the manifest analyzer owns it)."""
    manifest, item = package.manifest, _manifest_file(package)
    if manifest is None or manifest.raw_frontmatter is None or item is None or not item.text:
        return 0, 0
    index = LineIndex(normalize_newlines(item.text))
    last = index.line_of(len(index.text))
    start = index.line_span(min(max(manifest.frontmatter_line, 1), last))[0]
    if manifest.body_line > last:
        return start, len(index.text)
    return start, index.line_span(manifest.body_line)[0]


def _offset_of_line(index: LineIndex, line: int) -> int:
    last = index.line_of(len(index.text))
    return index.line_span(min(max(line, 1), last))[0]
