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
- `obfusc.encoded-payload`: encoded blobs (base64, hex, escapes, ``0x`` lists, base85,
  rot13, reversal, compressed streams, nested up to four layers) and built strings
  (character codes, concatenated literals, quote-split shell words, variables holding
  literal pieces joined in one expression) are decoded; each
  layer is scanned with every rule and YARA pack, and a built string is also judged in
  place on its line. High, critical when what it hides is high. Metadata: the decoder
  chain, line and column span, and a redacted preview of the decoded text.
- `yara.*` (see `scanner/rules/yara/`): binaries (droppers, miners, UPX, keys,
  compiled reverse shells), shellcode, miner configurations, web shells and stealer
  string sets, on binary files and text files up to 1 MiB (Markdown context applies).
- `supply.typosquat` (high at one edit, medium at two) and `supply.lookalike-domain`
  (high), against the popular names listed in `supply_chain.yaml`.
- Python docstrings and `description=` / `instructions=` texts (an MCP tool's
  description is what the agent reads) are read by the instruction rules
  (`injection.*`, `hidden.*`, Markdown image beacons), as Markdown.
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
    Python; strings built through variables are resolved only from literal assignments
    in the same file. Markdown context is judged on the sentence around a hit, the paragraph that
    introduces a code block and the headings above it; English cues only.
"""

from __future__ import annotations

import functools
import re

from pydantic import JsonValue

from scanner.analyzers._decode import Layer, Payload, find_payloads, fold_line, guess_type
from scanner.analyzers._markdown import MarkdownDoc, Verdict
from scanner.analyzers._pyast import CHECKS as PY_CHECKS
from scanner.analyzers._pyast import (
    COLLECTED_UPLOAD,
    UNPARSED,
    CodeCheck,
    CodeHit,
    PythonChecker,
    PythonFacts,
)
from scanner.analyzers._redact import redact_text
from scanner.analyzers._rules import Hit, ScanTarget, default_ruleset, load_packs
from scanner.analyzers._shellchecks import CHECKS as SHELL_CHECKS
from scanner.analyzers._shellchecks import shell_hits
from scanner.analyzers._supply import CHECKS as SUPPLY_CHECKS
from scanner.analyzers._supply import LookalikeChecker, SupplyHit
from scanner.analyzers._text import FileType, LineIndex, file_type, make_snippet, normalize_newlines
from scanner.analyzers._yara import MAX_TEXT_BYTES, YaraHit, all_rules, default_engine
from scanner.analyzers.base import Analyzer
from scanner.analyzers.behavioral._shellvalues import own_vendor_host, skill_words
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
# Hosts whose downloads are official installers or releases: run after download, medium.
_OFFICIAL_HOSTS = r"://(?:{{hosts_installer}}|{{hosts_release}})(?:[:/]|$)"
_CREDENTIAL_STORES = (
    r"{{secret_path}}|\b(?:Login Data|logins\.json|key4\.db|Cookies|wallet\.dat)\b"
    r"|\.(?:bash|zsh)_history\b|\.claude[/\\]+\.credentials\.json|\.codex[/\\]+auth\.json"
    # NOTE: every file of ~/.ssh or of a cloud CLI's credential folder, as a glob or a
    # path joined from a variable name.
    r"|\.ssh[/\\]+\*(?![\w.*]*\.pub)"
    r"|\.(?:aws|azure|kube|docker|gnupg|config[/\\]+gcloud)[/\\]+\*"
)
# Docstrings and tool descriptions are read by the agent: the instruction rules apply.
_PROSE_RULE_PREFIXES = (
    "injection.",
    "hidden.",
    "exfil.markdown-image-beacon",
    "exfil.prose-send-secrets",
    "persist.agent-memory",
)
_MAX_PROSE_STRINGS = 200
_MAX_PROSE_CHARS = 20_000
_PREVIEW_CHARS = 200


@register
class SignaturesAnalyzer(Analyzer):
    """Apply the YAML signature packs, the Python checks and the decoders to every text file."""

    name = "signatures"
    description = "Signature rules (YAML packs), Python syntax checks and blob decoding."

    RULES = tuple(
        check.id for check in (*PY_CHECKS, *SUPPLY_CHECKS, *SHELL_CHECKS, ENCODED_PAYLOAD)
    )

    def __init__(self) -> None:
        self._rules = default_ruleset()
        flags = re.IGNORECASE
        self._python = PythonChecker(
            re.compile(self._rules.expand(_CREDENTIAL_STORES), flags),
            re.compile(self._rules.expand("{{untrusted_dest}}"), flags),
            re.compile(self._rules.expand(_OFFICIAL_HOSTS), flags),
        )
        spec = self._rules.typosquat
        self._lookalikes = LookalikeChecker(spec) if spec is not None else None
        self._prose_rules = frozenset(
            rule.id for rule in self._rules.rules if rule.id.startswith(_PROSE_RULE_PREFIXES)
        )

    def rule_count(self) -> int:
        """Return the YAML rules plus the checks implemented in code."""
        return len(self._rules.rules) + len(self.RULES) + _yara_count()

    @classmethod
    def rule_ids(cls) -> frozenset[str]:
        """Return the ids of the YAML rules, the YARA rules and the checks in code."""
        return _data_rule_ids() | frozenset(cls.RULES)

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the findings of every text file of the package."""
        findings: list[Finding] = []
        frontmatter = _frontmatter_span(package)
        for item in package.files:
            kind = file_type(item)
            if kind is None or item.text is None:
                findings.extend(self._binary_findings(item))
                continue
            text = normalize_newlines(item.text)
            skip = frontmatter if item is _manifest_file(package) else (0, 0)
            findings.extend(self._scan_file(item, text, kind, skip))
        return _fixture_secrets(_own_installers(findings, skill_words(package)), package)

    def _scan_file(
        self, item: SkillFile, text: str, kind: FileType, skip: tuple[int, int]
    ) -> list[Finding]:
        doc = MarkdownDoc(text, skip=skip) if kind is FileType.MARKDOWN else None
        python = self._python.check(text) if kind is FileType.PYTHON else None
        target = ScanTarget(
            text,
            kind,
            doc,
            python_parsed=python is not None,
            unparsed_lines=frozenset(python[1].skipped_lines) if python else frozenset(),
        )
        findings = [self._rule_finding(item.path, hit) for hit in self._rules.scan(target)]
        index = target.index
        if python is not None:
            findings.extend(self._code_finding(item.path, hit, index) for hit in python[0])
            findings.extend(self._prose_findings(item.path, python[1].prose))
        if kind is FileType.PYTHON:
            findings.extend(self._unparsed_findings(item.path, python, index))
        if kind in (FileType.SHELL, FileType.MARKDOWN) and shell_role(item) is not None:
            shell = shell_hits(item.path, text, doc, index, findings)
            findings.extend(self._code_finding(item.path, hit, index) for hit in shell)
        findings.extend(self._decoded_findings(item.path, text, kind, python, doc))
        findings.extend(self._yara_text_findings(item.path, text, index, doc))
        if self._lookalikes is not None:
            supply = self._lookalikes.check(text, kind, item.path)
            findings.extend(self._supply_finding(item.path, hit, index) for hit in supply)
        return findings

    def _binary_findings(self, item: SkillFile) -> list[Finding]:
        """Return the YARA findings of a binary file (its first `max_file_bytes`)."""
        if not item.data:
            return []
        return [
            self._yara_finding(item.path, hit, hit.meta.severity, None, _shown_bytes(hit.matched))
            for hit in default_engine().scan(item.data)
        ]

    def _yara_text_findings(
        self, path: str, text: str, index: LineIndex, doc: MarkdownDoc | None
    ) -> list[Finding]:
        """Return the YARA findings of a text file, located by line; prose context applies."""
        data = text.encode("utf-8")
        if len(data) > MAX_TEXT_BYTES:
            return []
        findings = []
        for hit in default_engine().scan(data):
            offset = hit.offsets[0] if hit.offsets else 0
            start = len(data[:offset].decode("utf-8", "ignore"))
            end = start + len(data[offset : offset + hit.length].decode("utf-8", "ignore"))
            severity = hit.meta.severity
            if doc is not None:
                verdict = doc.context(start, max(end, start + 1))
                if verdict in (Verdict.NEGATED, Verdict.EXAMPLE):
                    severity = Severity.INFO
            line = index.line_of(start)
            snippet = make_snippet(self._rules.redact(index.line_text(line)))
            findings.append(self._yara_finding(path, hit, severity, line, snippet))
        return findings

    def _yara_finding(
        self, path: str, hit: YaraHit, severity: Severity, line: int | None, snippet: str
    ) -> Finding:
        meta = hit.meta
        metadata: dict[str, JsonValue] = {"engine": "yara", "offsets": list(hit.offsets[:5])}
        if severity is not meta.severity:
            metadata["base_severity"] = meta.severity.value
        return Finding(
            rule_id=meta.id,
            category=meta.category,
            severity=severity,
            title=meta.title,
            description=meta.why,
            file_path=path,
            line_number=line,
            snippet=snippet,
            remediation=meta.remediation,
            analyzer=self.name,
            metadata=metadata,
        )

    def _prose_findings(self, path: str, prose: list[tuple[str, int]]) -> list[Finding]:
        """Return what the instruction rules find in docstrings and tool descriptions."""
        findings = []
        for text, line in prose[:_MAX_PROSE_STRINGS]:
            if len(text) > _MAX_PROSE_CHARS:
                continue
            body = normalize_newlines(text)
            target = ScanTarget(body, FileType.TEXT, MarkdownDoc(body))
            for hit in self._rules.scan(target, self._prose_rules):
                finding = self._rule_finding(path, hit)
                findings.append(finding.model_copy(update={"line_number": line + hit.line - 1}))
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

    def _unparsed_findings(
        self, path: str, python: tuple[list[CodeHit], PythonFacts] | None, index: LineIndex
    ) -> list[Finding]:
        """Report Python the code checks could not read, whole or in part."""
        if python is None:
            detail = "does not parse as Python 3; only the pattern rules read it"
            return [self._code_finding(path, CodeHit(UNPARSED, 1, Severity.MEDIUM, detail), index)]
        skipped = python[1].skipped_lines
        if not skipped:
            return []
        shown = ", ".join(str(line) for line in skipped[:10])
        detail = f"line(s) {shown} do not parse and were set aside; the rest was analysed"
        hit = CodeHit(UNPARSED, skipped[0], Severity.LOW, detail, {"lines": list(skipped)})
        return [self._code_finding(path, hit, index)]

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
        kind: FileType,
        python: tuple[list[CodeHit], PythonFacts] | None,
        doc: MarkdownDoc | None = None,
    ) -> list[Finding]:
        index = LineIndex(text)
        strings: tuple[tuple[int, str], ...] = ()
        if python is not None:
            strings = tuple((_offset_of_line(index, line), s) for s, line in python[1].strings)
        payloads = find_payloads(text, kind=kind, strings=strings)
        rebuilt = self._rebuilt_hits(index, payloads, kind)
        best: dict[int, Finding] = {}
        for number, payload in enumerate(payloads):
            inner = [
                (rule, sev, layer)
                for layer in payload.layers
                for rule, sev in self._layer_hits(layer)
            ]
            inner += rebuilt.get(number, [])
            if not inner:
                continue
            finding = self._payload_finding(path, index, payload, inner)
            if doc is not None:
                # NOTE: an encoded lure quoted as an example to recognise, like any other hit.
                verdict = doc.context(payload.start, max(payload.end, payload.start + 1))
                if verdict in (Verdict.NEGATED, Verdict.EXAMPLE):
                    metadata = {**finding.metadata, "context": verdict.value}
                    update = {"severity": Severity.INFO, "metadata": metadata}
                    finding = finding.model_copy(update=update)
            line = finding.line_number or 0
            if line not in best or _payload_rank(finding) > _payload_rank(best[line]):
                best[line] = finding
        return list(best.values())

    def _rebuilt_hits(
        self, index: LineIndex, payloads: list[Payload], kind: FileType
    ) -> dict[int, list[_Inner]]:
        """Judge each line with its built strings put back in place, keyed by payload number."""
        lines: dict[int, list[int]] = {}
        for number, payload in enumerate(payloads):
            text = payload.layers[0].text if payload.layers else None
            if payload.assembled and text is not None and _fits_line(index, payload, text):
                lines.setdefault(index.line_of(payload.start), []).append(number)
        found: dict[int, list[_Inner]] = {}
        for line, numbers in lines.items():
            hits = self._rebuilt_line_hits(index, line, [payloads[n] for n in numbers], kind)
            if hits:
                layer = payloads[numbers[0]].layers[0]
                found[numbers[0]] = [(rule, sev, layer) for rule, sev in hits]
        return found

    def _layer_hits(self, layer: Layer) -> list[tuple[str, Severity]]:
        """Return (rule id, severity) of what one decoded layer triggers at MEDIUM or above."""
        found = [(hit.meta.id, hit.meta.severity) for hit in default_engine().scan(layer.data)]
        if layer.text is not None:
            text = normalize_newlines(layer.text)
            kind = guess_type(text)
            found += [
                (hit.rule.id, hit.severity) for hit in self._rules.scan(ScanTarget(text, kind))
            ]
            code = self._python.check(text) if kind is FileType.PYTHON else None
            found += [(hit.check.id, hit.severity) for hit in code[0]] if code else []
        return [(rule, sev) for rule, sev in found if sev.rank >= Severity.MEDIUM.rank]

    def _rebuilt_line_hits(
        self, index: LineIndex, line: int, payloads: list[Payload], kind: FileType
    ) -> list[tuple[str, Severity]]:
        """Return the rules a line newly matches once its built strings replace their code."""
        first, last = index.line_span(line)
        before = index.text[first:last]
        after = before
        taken = len(before) + 1
        for payload in sorted(payloads, key=lambda p: p.start, reverse=True):
            start, end = payload.start - first, payload.end - first
            if end > taken:
                continue
            quote = "" if payload.layers[0].chain[0] in _UNQUOTED_STEPS else '"'
            after = f"{after[:start]}{quote}{payload.layers[0].text}{quote}{after[end:]}"
            taken = start
        scan_kind = kind if kind is not FileType.MARKDOWN else FileType.TEXT
        after = fold_line(after, scan_kind)
        old = {hit.rule.id for hit in self._rules.scan(ScanTarget(before, scan_kind))}
        new = self._rules.scan(ScanTarget(after, scan_kind))
        return [
            (hit.rule.id, hit.severity)
            for hit in new
            if hit.rule.id not in old and hit.severity.rank >= Severity.MEDIUM.rank
        ]

    def _payload_finding(
        self, path: str, index: LineIndex, payload: Payload, inner: list[_Inner]
    ) -> Finding:
        worst = max((sev for _, sev, _ in inner), key=lambda s: s.rank)
        severity = Severity.CRITICAL if worst.rank >= Severity.HIGH.rank else Severity.HIGH
        rules = sorted({rule for rule, _, _ in inner})
        layer = max(inner, key=lambda item: item[1].rank)[2]
        line, column = _position(index, payload.start)
        end_line, end_column = _position(index, max(payload.start, payload.end - 1))
        shown = layer.text if layer.text is not None else _printable(layer.data)
        metadata: dict[str, JsonValue] = {
            "encoding": "+".join(layer.chain),
            "chain": list(layer.chain),
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "decoded_preview": make_snippet(self._rules.redact(shown), _PREVIEW_CHARS),
            "inner_rules": _json_list(rules),
        }
        detail = (
            f"At line {line}, columns {column}-{end_column}, it decodes "
            f"({' then '.join(layer.chain)}) to content flagged by: {', '.join(rules)}."
        )
        return self._check_finding(ENCODED_PAYLOAD, severity, path, line, index, detail, metadata)


_Inner = tuple[str, Severity, Layer]
_MAX_REBUILT_CHARS = 2000
_MAX_REBUILT_LINE = 4000
_UNQUOTED_STEPS = frozenset({"escapes", "shell-quotes", "printf", "shell-variables"})


def _fits_line(index: LineIndex, payload: Payload, text: str) -> bool:
    """Return True when a built string can be judged in place on its (bounded) line."""
    # SECURITY: each line is scanned twice with every rule, so its length is capped.
    first, last = index.line_span(index.line_of(payload.start))
    if last - first > _MAX_REBUILT_LINE or payload.end > last:
        return False
    return "\n" not in text and len(text) <= _MAX_REBUILT_CHARS


def _payload_rank(finding: Finding) -> tuple[int, int]:
    rules = finding.metadata.get("inner_rules")
    return finding.severity.rank, len(rules) if isinstance(rules, list) else 0


def _position(index: LineIndex, offset: int) -> tuple[int, int]:
    """Return the 1-based line and column of an offset."""
    line = index.line_of(offset)
    return line, offset - index.line_span(line)[0] + 1


def _printable(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data[:_PREVIEW_CHARS])


@functools.cache
def _yara_count() -> int:
    return len(all_rules())


@functools.cache
def _data_rule_ids() -> frozenset[str]:
    # NOTE: read from the rule files without compiling them: the server process asks
    # for these ids to validate policies and never builds the analyzer itself.
    yaml_ids = {rule.id for pack in load_packs() for rule in pack.rules}
    return frozenset(yaml_ids | {rule.meta.id for rule in all_rules()})


def _shown_bytes(data: bytes) -> str:
    r"""Return matched bytes as evidence: printable ASCII kept, the rest as ``\xNN``."""
    shown = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in data[:80])
    return make_snippet(redact_text(shown))


def _json_list(items: list[str]) -> list[JsonValue]:
    return list(items)


_INSTALLER_RULES = frozenset(
    {"rce.pipe-to-shell", "rce.download-then-execute", "shell.download-to-exec"}
)


def _own_installers(findings: list[Finding], words: frozenset[str]) -> list[Finding]:
    """Lower to medium a high download-and-run from, or upload to, the skill's own host.

    A CLI's skill documents that CLI's installer (`morph-cli` piping the installer of
    `www.morphllm.com`), and a service's skill uploads the project to that service; a
    look-alike host not named like the skill stays high.
    """
    if not words:
        return findings
    kept = []
    for finding in findings:
        if finding.rule_id in _INSTALLER_RULES and own_vendor_host(finding.snippet or "", words):
            finding = _lowered(finding, "own_vendor_installer")
        elif finding.rule_id == COLLECTED_UPLOAD.id:
            hosts = finding.metadata.get("hosts")
            texts = [f"https://{host}/" for host in hosts] if isinstance(hosts, list) else []
            if texts and all(own_vendor_host(text, words) for text in texts):
                finding = _lowered(finding, "own_vendor_upload")
        kept.append(finding)
    return kept


_FIXTURE_PATH = re.compile(r"(?:^|/)(?:tests?|fixtures?|__tests__|spec|testdata|test_data)/", re.I)
_PLACEHOLDER_VALUE = re.compile(r"fake|example|dummy|placeholder|not[-_ ]?a[-_ ]?real", re.I)


def _fixture_secrets(findings: list[Finding], package: SkillPackage) -> list[Finding]:
    """Lower to medium a hard-coded secret in a test fixture whose line calls it fake.

    A secret scanner's own tests keep look-alike keys (`ghp_FAKE...`) in `tests/fixtures/`;
    the same value anywhere else, or a fixture value not marked fake, stays high.
    """
    indexes: dict[str, LineIndex] = {}
    kept = []
    for finding in findings:
        path, line = finding.file_path or "", finding.line_number
        item = package.file(path) if _FIXTURE_PATH.search(path) else None
        if finding.category is Category.HARDCODED_SECRET and item and item.text and line:
            index = indexes.setdefault(path, LineIndex(normalize_newlines(item.text)))
            if _PLACEHOLDER_VALUE.search(index.line_text(line)):
                finding = _lowered(finding, "test_fixture")
        kept.append(finding)
    return kept


def _lowered(finding: Finding, reason: str) -> Finding:
    """Return a high finding lowered to medium, its metadata saying why; others as they are."""
    if finding.severity is not Severity.HIGH:
        return finding
    metadata = {**finding.metadata, reason: True}
    return finding.model_copy(update={"severity": Severity.MEDIUM, "metadata": metadata})


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
