"""Turn the front ends' flows, capabilities and gaps into findings with severities.

Language-neutral: works on `flow.py` values only. The rules and their
severities are documented in the analyzer's module docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import JsonValue

from scanner.analyzers._markdown import MarkdownDoc
from scanner.analyzers._rules import default_ruleset, in_context
from scanner.analyzers._text import FileType, LineIndex, file_type, make_snippet, normalize_newlines
from scanner.analyzers._vendors import is_vendor_host, vendor_of
from scanner.analyzers.behavioral._shellvalues import (
    download_severity,
    own_vendor_host,
    skill_words,
)
from scanner.analyzers.behavioral.flow import (
    Capability,
    CapabilityUse,
    Flow,
    Incomplete,
    LanguageResult,
    SinkKind,
    SourceKind,
)
from scanner.core.models import Category, Finding, Severity, SkillPackage


@dataclass(frozen=True)
class Rule:
    """One rule of the analyzer."""

    id: str
    title: str
    category: Category
    description: str
    remediation: str


SECRET_EXFILTRATION = Rule(
    "behavioral.secret-exfiltration",
    "Secret data flows to the network",
    Category.DATA_EXFILTRATION,
    "Data read from a secret store (environment secrets, credential or key files, agent "
    "configs, browser or keychain stores, the clipboard, files listed from the home folder) "
    "reaches a network sink.",
    "Send each credential only to the service that issued it; never collect secrets.",
)
COMMAND_INJECTION = Rule(
    "behavioral.command-injection",
    "Program input reaches a command",
    Category.COMMAND_INJECTION,
    "Text from the command line, stdin or a file decides what a shell or process runs.",
    "Pass a fixed argument list without a shell; quote with `shlex.quote` if a shell is needed.",
)
CODE_INJECTION = Rule(
    "behavioral.code-injection",
    "Program input is executed as code",
    Category.CODE_INJECTION,
    "Text from the command line, stdin or a file reaches eval, exec, compile, a dynamic "
    "import or getattr with a computed name.",
    "Parse data instead of executing it (`ast.literal_eval`, a whitelist walker).",
)
REMOTE_CODE = Rule(
    "behavioral.remote-code-execution",
    "Downloaded data is executed or installed",
    Category.REMOTE_CODE_EXECUTION,
    "Data received from the network is executed, imported, unpickled, run by a shell or "
    "written into a start-up location.",
    "Never execute downloaded data; ship the code in the skill where it can be reviewed.",
)
OBFUSCATED = Rule(
    "behavioral.obfuscated-execution",
    "Encoded literal decoded and executed",
    Category.OBFUSCATION,
    "A literal of the code is decoded or decompressed at run time and then executed: the "
    "real code is hidden from review.",
    "Ship readable source; never execute decoded blobs.",
)
PERSISTENCE = Rule(
    "behavioral.persistence",
    "Code writes a persistence location",
    Category.PERSISTENCE,
    "The code writes shell start-up files, crontab, systemd units, LaunchAgents, "
    "authorized_keys, git hooks or agent settings, so something runs again later.",
    "Print the line for the user to add themselves, and explain it in SKILL.md.",
)
PATH_TRAVERSAL = Rule(
    "behavioral.path-traversal",
    "Input-built path written without containment",
    Category.PATH_TRAVERSAL,
    "Program input is joined under a folder and written, and the function never checks the "
    "resolved path stays inside: `../../.bashrc` escapes.",
    "Resolve the path and check `is_relative_to(base.resolve())` before writing.",
)
UNDECLARED = Rule(
    "behavioral.undeclared-capability",
    "Code does something SKILL.md does not declare",
    Category.DESCRIPTION_MISMATCH,
    "The code uses a capability that neither `allowed-tools` nor the description and body "
    "of SKILL.md mention.",
    "Say in SKILL.md what the scripts do (network, secrets, commands, writes).",
)
INCOMPLETE = Rule(
    "behavioral.incomplete",
    "Dataflow analysis incomplete",
    Category.ANALYSIS_COVERAGE,
    "A file or the skill could not be analysed in full (time or size budget, nesting too "
    "deep, or not valid code); flows in the rest may be missed.",
    "Keep scripts small and readable; review the file by hand.",
)
ALL_RULES = (
    SECRET_EXFILTRATION,
    COMMAND_INJECTION,
    CODE_INJECTION,
    REMOTE_CODE,
    OBFUSCATED,
    PERSISTENCE,
    PATH_TRAVERSAL,
    UNDECLARED,
    INCOMPLETE,
)
RULES = tuple(rule.id for rule in ALL_RULES)

SECRET_SOURCES = frozenset(
    {SourceKind.ENV, SourceKind.CREDENTIAL_FILE, SourceKind.AGENT_CONFIG,
     SourceKind.BROWSER_STORE, SourceKind.KEYCHAIN, SourceKind.CLIPBOARD, SourceKind.USER_FILE}
)  # fmt: skip
INPUT_SOURCES = frozenset({SourceKind.USER_INPUT, SourceKind.FILE})
NETWORK_SINKS = frozenset(
    {SinkKind.HTTP, SinkKind.SOCKET, SinkKind.DNS, SinkKind.SMTP, SinkKind.GIT}
)
RUN_SINKS = frozenset({SinkKind.SHELL, SinkKind.PROCESS})
CODE_SINKS = frozenset({SinkKind.EVAL, SinkKind.DYNAMIC_IMPORT})
ENCODINGS = frozenset(
    {"base64", "hex", "zlib", "gzip", "bz2", "lzma", "compress", "encrypt", "xor", "rot13",
     "reverse"}
)  # fmt: skip
_SENDING_COMMAND = re.compile(
    r"\b(?:curl|wget|nc|ncat|netcat|scp|rsync|ftp|sftp|socat|telnet|Invoke-WebRequest"
    r"|Invoke-RestMethod)\b",
    re.IGNORECASE,
)
_MAX_FLOW_FINDINGS = 200
_SPLICING = frozenset({"concat", "format", "join"})
_NEAR_STEPS = 7
Verdict = tuple[Rule, Severity]


class Judge:
    """Decide severities and build the findings of one package."""

    def __init__(self, package: SkillPackage, analyzer: str) -> None:
        """Keep the package (for snippets and SKILL.md) and the analyzer name."""
        self._package = package
        self._analyzer = analyzer
        self._untrusted = re.compile(default_ruleset().expand("{{untrusted_dest}}"), re.I)
        self._declared = Declarations(package)
        self._words = skill_words(package)
        self._indexes: dict[str, LineIndex] = {}
        self._docs: dict[str, MarkdownDoc | None] = {}

    def findings(self, result: LanguageResult) -> list[Finding]:
        """Return one finding per judged flow, undeclared capability and gap."""
        best: dict[tuple[str, str, int], tuple[Severity, Finding]] = {}
        for flow in result.flows[: _MAX_FLOW_FINDINGS * 5]:
            verdict = self.judge(flow)
            if verdict is None:
                continue
            verdict = verdict[0], self._in_context(flow, verdict[1])
            finding = self._flow_finding(flow, *verdict)
            key = (finding.rule_id, finding.file_path or "", finding.line_number or 0)
            kept = best.get(key)
            if kept is None or verdict[1].rank > kept[0].rank:
                best[key] = (verdict[1], finding)
        findings = [finding for _, finding in best.values()][:_MAX_FLOW_FINDINGS]
        findings.extend(self._capability_findings(result.capabilities))
        findings.extend(self._incomplete_finding(item) for item in result.incomplete)
        return findings

    # -- severities ---------------------------------------------------------------------

    def judge(self, flow: Flow) -> Verdict | None:
        """Return the rule and severity of a flow, or None when it is not a finding."""
        if flow.sink is SinkKind.PERSISTENCE_WRITE:
            remote = flow.source is SourceKind.NETWORK
            return (REMOTE_CODE, Severity.CRITICAL) if remote else (PERSISTENCE, Severity.HIGH)
        if flow.source is SourceKind.NETWORK:
            return self._remote(flow)
        if flow.source is SourceKind.ENCODED_LITERAL:
            return self._encoded(flow)
        if flow.source in SECRET_SOURCES:
            return self._secret(flow)
        if flow.source in INPUT_SOURCES:
            return self._input(flow)
        return None

    def _secret(self, flow: Flow) -> Verdict | None:
        destination = flow.destination or ""
        if flow.sink in RUN_SINKS and _SENDING_COMMAND.search(destination):
            severity = Severity.CRITICAL if self._untrusted.search(destination) else Severity.HIGH
            return SECRET_EXFILTRATION, severity
        if flow.sink not in NETWORK_SINKS:
            return None
        encoded = bool(ENCODINGS & set(flow.transforms))
        if self._untrusted.search(destination) or encoded:
            return SECRET_EXFILTRATION, Severity.CRITICAL
        if flow.sink is SinkKind.DNS:
            return SECRET_EXFILTRATION, Severity.HIGH
        if _is_first_party(flow) or _configured_endpoint(flow):
            return SECRET_EXFILTRATION, Severity.LOW
        if self._vendor_url_at_runtime(flow) or self._configured_base(flow):
            return SECRET_EXFILTRATION, Severity.MEDIUM
        return SECRET_EXFILTRATION, Severity.HIGH

    def _configured_base(self, flow: Flow) -> bool:
        """Return True when the request's address is built from an address the user sets.

        `fetch(`${relayUrl}${path}`)` with `relayUrl = process.env.AGENT_RELAY_URL ?? ...`:
        the token goes where the user pointed the skill, as that service's API is called.
        """
        if _literal_host(flow.destination):
            return False
        sink = flow.steps[-1]
        item = self._package.file(sink.file)
        if item is None or not item.text:
            return False
        index = self._index(sink.file)
        line = index.line_text(sink.line) if sink.line else ""
        configured = {
            match.group("var")
            for match in _ADDRESS_ASSIGN.finditer(item.text)
            if _ADDRESS_NAME.search(match.group("env"))
        }
        return any(re.search(rf"(?<![\w.]){re.escape(var)}(?!\w)", line) for var in configured)

    def _vendor_url_at_runtime(self, flow: Flow) -> bool:
        """Return True when a vendor's key goes to a run-time URL from a file naming its host.

        Such a URL is, as far as the code shows, a link the vendor's API returned (a
        download or next-page URL).
        """
        if flow.source is not SourceKind.ENV or _literal_host(flow.destination):
            return False
        vendors = {vendor_of(name) for name in (flow.origin or "").split(", ")}
        if not vendors or not all(vendors):
            return False
        sink = flow.steps[-1].file
        item = self._package.file(sink)
        hosts = {m.lower() for m in _URL_HOST.findall(item.text or "")} if item else set()
        return all(any(is_vendor_host(str(word), host) for host in hosts) for word in vendors)

    def _input(self, flow: Flow) -> Verdict | None:
        from_file = flow.source is SourceKind.FILE
        if "shell_quote" in flow.transforms and flow.sink is SinkKind.SHELL:
            return None
        if flow.sink is SinkKind.SHELL:
            # NOTE: injection is input spliced into a command; a whole argument run as the
            # command is what a "--cmd" option of a runner is for.
            spliced = bool(_SPLICING & set(flow.transforms))
            return (
                COMMAND_INJECTION,
                Severity.HIGH if spliced and not from_file else Severity.MEDIUM,
            )
        if flow.sink is SinkKind.PROCESS:
            # NOTE: without a shell, input picks a program or its arguments; running the
            # command a user typed is what many CLI wrappers are for.
            return (COMMAND_INJECTION, Severity.MEDIUM) if not from_file else None
        if flow.sink is SinkKind.FILE_WRITE and "path" in flow.qualifiers and not from_file:
            if "contained" in flow.qualifiers:
                return None
            fixed = "fixed_name" in flow.qualifiers
            return PATH_TRAVERSAL, Severity.MEDIUM if fixed else _traversal(flow)
        return self._code(flow, from_file)

    def _code(self, flow: Flow, from_file: bool) -> Verdict | None:
        if flow.sink is SinkKind.EVAL:
            lowered = from_file or bool(
                {"restricted_builtins", "deserialize"} & set(flow.qualifiers)
            )
            return CODE_INJECTION, Severity.MEDIUM if lowered else Severity.HIGH
        if flow.sink is not SinkKind.DYNAMIC_IMPORT:
            return None
        if "getattr" not in flow.qualifiers:
            return CODE_INJECTION, Severity.MEDIUM
        if "dangerous_owner" in flow.qualifiers and not from_file:
            return CODE_INJECTION, Severity.HIGH
        return CODE_INJECTION, Severity.LOW

    def _remote(self, flow: Flow) -> Verdict | None:
        if flow.language == "shell" and flow.sink in RUN_SINKS and flow.origin:
            # NOTE: the same trust in the host as the signatures shell check gives.
            severity = download_severity(flow.origin)
            if severity is Severity.HIGH and own_vendor_host(flow.origin, self._words):
                severity = Severity.MEDIUM
            return REMOTE_CODE, severity
        if flow.sink in CODE_SINKS or flow.sink is SinkKind.SHELL:
            weak = "getattr" in flow.qualifiers
            return REMOTE_CODE, Severity.MEDIUM if weak else Severity.CRITICAL
        if flow.sink is SinkKind.PROCESS:
            weak = "argv_runtime" in flow.qualifiers
            return REMOTE_CODE, Severity.HIGH if weak else Severity.CRITICAL
        return None

    def _encoded(self, flow: Flow) -> Verdict | None:
        if flow.sink in (SinkKind.EVAL, SinkKind.SHELL, SinkKind.PROCESS):
            return OBFUSCATED, Severity.CRITICAL
        if flow.sink is SinkKind.DYNAMIC_IMPORT:
            return OBFUSCATED, Severity.HIGH
        return None

    # -- findings -----------------------------------------------------------------------

    def _flow_finding(self, flow: Flow, rule: Rule, severity: Severity) -> Finding:
        source, sink = flow.steps[0], flow.steps[-1]
        hops = len(flow.steps) - 2
        via = f" through {hops} step(s)" if hops > 0 else ""
        encoded = f", transformed by {', '.join(flow.transforms)}" if flow.transforms else ""
        detail = (
            f"{source.detail} ({source.file}:{source.line}) reaches {sink.detail}{via}{encoded}."
        )
        metadata: dict[str, JsonValue] = {
            "flow": [
                {"file": s.file, "line": s.line, "role": s.role, "detail": s.detail}
                for s in flow.steps
            ],
            "source": flow.source.value,
            "sink": flow.sink.value,
            "transforms": list(flow.transforms),
            "destination": flow.destination,
            "language": flow.language,
        }
        return self._finding(rule, severity, sink.file, sink.line, detail, metadata)

    def _capability_findings(self, uses: list[CapabilityUse]) -> list[Finding]:
        findings = []
        first: dict[Capability, CapabilityUse] = {}
        for use in uses:
            first.setdefault(use.capability, use)
            if use.capability is Capability.PERSIST:
                findings.append(self._persistence_finding(use))
        for capability, use in first.items():
            severity = _UNDECLARED_SEVERITY.get(capability)
            if severity is None or self._declared.declares(capability):
                continue
            detail = f"The code can {_VERBS[capability]} ({use.detail}); SKILL.md does not say so."
            metadata: dict[str, JsonValue] = {"capability": capability.value}
            findings.append(
                self._finding(UNDECLARED, severity, use.file, use.line, detail, metadata)
            )
        return findings

    def _persistence_finding(self, use: CapabilityUse) -> Finding:
        declared = self._declared.declares(Capability.PERSIST)
        severity = Severity.MEDIUM if declared else Severity.HIGH
        detail = f"It {use.detail}" + (" (SKILL.md mentions it)." if declared else ".")
        metadata: dict[str, JsonValue] = {"capability": use.capability.value}
        return self._finding(PERSISTENCE, severity, use.file, use.line, detail, metadata)

    def _incomplete_finding(self, item: Incomplete) -> Finding:
        severity = Severity.LOW if item.reason == "parse_error" else Severity.MEDIUM
        detail = f"Reason: {item.reason}" + (f" ({item.detail})." if item.detail else ".")
        metadata: dict[str, JsonValue] = {"reason": item.reason}
        return self._finding(INCOMPLETE, severity, item.file or None, None, detail, metadata)

    def _finding(
        self,
        rule: Rule,
        severity: Severity,
        path: str | None,
        line: int | None,
        detail: str,
        metadata: dict[str, JsonValue],
    ) -> Finding:
        return Finding(
            rule_id=rule.id,
            category=rule.category,
            severity=severity,
            title=rule.title,
            description=f"{rule.description} {detail}",
            file_path=path,
            line_number=line if line and line > 0 else None,
            snippet=self._snippet(path, line),
            remediation=rule.remediation,
            analyzer=self._analyzer,
            metadata=metadata,
        )

    def _in_context(self, flow: Flow, severity: Severity) -> Severity:
        """Lower a flow found in a Markdown shell block shown as a warning or an example."""
        path, line = flow.steps[-1].file, flow.steps[-1].line
        if path not in self._docs:
            item = self._package.file(path)
            markdown = item is not None and file_type(item) is FileType.MARKDOWN
            self._docs[path] = MarkdownDoc(self._index(path).text) if markdown else None
        doc = self._docs[path]
        return severity if doc is None else in_context(severity, doc, self._index(path), line)

    def _index(self, path: str) -> LineIndex:
        index = self._indexes.get(path)
        if index is None:
            item = self._package.file(path)
            text = item.text if item is not None and item.text is not None else ""
            index = LineIndex(normalize_newlines(text))
            self._indexes[path] = index
        return index

    def _snippet(self, path: str | None, line: int | None) -> str | None:
        if path is None or line is None:
            return None
        item = self._package.file(path)
        if item is None or item.text is None:
            return None
        index = self._index(path)
        if not 1 <= line <= index.line_of(len(index.text)):
            return None
        return make_snippet(index.line_text(line))


_UNDECLARED_SEVERITY = {
    Capability.READ_SECRETS: Severity.MEDIUM,
    Capability.NETWORK: Severity.LOW,
    Capability.EXECUTE: Severity.LOW,
    Capability.WRITE_OUTSIDE: Severity.LOW,
}
_VERBS = {
    Capability.READ_SECRETS: "read secrets",
    Capability.NETWORK: "use the network",
    Capability.EXECUTE: "run programs",
    Capability.WRITE_OUTSIDE: "write outside its folder",
    Capability.PERSIST: "install itself to run again",
    Capability.WRITE_FILES: "write files",
}


def _traversal(flow: Flow) -> Severity:
    """Return HIGH for a short path in one file, MEDIUM when the input came from far away."""
    files = {step.file for step in flow.steps}
    near = len(flow.steps) <= _NEAR_STEPS and len(files) == 1
    return Severity.HIGH if near else Severity.MEDIUM


_ADDRESS_NAME = re.compile(r"(?:URL|URI|ENDPOINT|WEBHOOK|WEBHOOK_URL|BASE|HOST)$", re.IGNORECASE)
_URL_HOST = re.compile(r"https://([a-z0-9.-]+)", re.IGNORECASE)
# `base = os.environ.get("X_URL", ...)`, `const base = (process.env.X_URL ?? ...)`.
_ADDRESS_ASSIGN = re.compile(
    r"(?:^|[\s;,(])(?:const\s+|let\s+|var\s+)?(?P<var>[A-Za-z_$][\w$]{0,40})\s*=\s*\(?\s*"
    r"(?:process\.env\.|os\.environ\.get\(\s*[\"']|os\.getenv\(\s*[\"']|os\.environ\[\s*[\"'])"
    r"(?P<env>[A-Z_][A-Z0-9_]{0,60})",
    re.MULTILINE,
)


def _configured_endpoint(flow: Flow) -> bool:
    """Return True when the only secret is an address the request is sent to.

    `FEISHU_WEBHOOK_URL` or `API_BASE_URL` read from the environment and used as the
    request's own (computed) address is where the user told the skill to post, not a
    secret carried away; the same variable sent to a host written in the code is not.
    """
    names = [name for name in (flow.origin or "").split(", ") if name]
    if flow.source is not SourceKind.ENV or not names or _literal_host(flow.destination):
        return False
    return all(_ADDRESS_NAME.search(name) for name in names)


def _literal_host(destination: str | None) -> bool:
    """Return True when the destination names a host in its own text."""
    if not destination or "://" not in destination:
        return False
    host = urlsplit(destination).hostname or ""
    return bool(host) and not set(host) & set("*${}")


def _is_first_party(flow: Flow) -> bool:
    """Return True when a vendor-named variable goes to a literal URL on that vendor's host.

    A key file kept in a folder named for its vendor (`~/.config/notion/api_key`) sent to
    a host of that name counts the same.
    """
    if flow.source not in _FIRST_PARTY_SOURCES or not flow.destination:
        return False
    host = urlsplit(flow.destination).hostname if "://" in flow.destination else flow.destination
    if not host or "*" in host:
        return False
    if flow.source is not SourceKind.ENV:
        vendor = _key_file_vendor(flow.origin or "")
        return vendor is not None and is_vendor_host(vendor, host)
    vendors = {vendor_of(name) for name in (flow.origin or "").split(", ")}
    if host.startswith(("$", "{", "%")):
        # NOTE: a host variable named for the vendor (`$JIRA_SITE`): its value is unknown.
        return bool(vendors) and all(word and word in host.lower() for word in vendors)
    return bool(vendors) and all(word and is_vendor_host(word, host) for word in vendors)


_FIRST_PARTY_SOURCES = frozenset({SourceKind.ENV, SourceKind.CREDENTIAL_FILE, SourceKind.USER_FILE})
_VENDOR_KEY_FILE = re.compile(r"\.config[/\\]+([a-z][a-z0-9-]{2,30})[/\\]+[\w.-]+$", re.IGNORECASE)


def _key_file_vendor(path: str) -> str | None:
    """Return the vendor a key file's folder names (`~/.config/notion/api_key`: notion)."""
    match = _VENDOR_KEY_FILE.search(path)
    return vendor_of(match.group(1)) if match else None


class Declarations:
    """What SKILL.md says the skill does: `allowed-tools`, description and body."""

    _TEXT: ClassVar[dict[Capability, str]] = {
        Capability.NETWORK: r"\b(?:apis?|https?|urls?|web\w*|download\w*|upload\w*|fetch\w*|"
        r"online|internet|servers?|endpoints?|webhooks?|requests?|slack|github|gitlab|cloud|"
        r"remote|services?|send\w*|post\w*|sync\w*|network)\b",
        Capability.EXECUTE: r"\b(?:run|runs|running|execut\w+|commands?|shell|terminal|cli|git|"
        r"subprocess\w*|scripts?|invokes?|calls?)\b",
        Capability.READ_SECRETS: r"\b(?:tokens?|api[ _-]?keys?|keys?|secrets?|credentials?|"
        r"passwords?|environment|env|auth\w*|login|ssh|keychain|clipboard|cookies?)\b|\.env\b"
        r"|_(?:TOKEN|KEY|SECRET)\b",
        Capability.PERSIST: r"bashrc|zshrc|\bprofile\b|crontab|\bcron\b|launch ?agents?|systemd|"
        r"start-?up|autostart|login items?|\bhooks?\b|authorized_keys|settings\.json|CLAUDE\.md"
        r"|AGENTS\.md|persist\w*",
        Capability.WRITE_OUTSIDE: r"\b(?:home|install\w*|config\w*|sav\w+|writ\w+|export\w*|"
        r"cache|settings|output)\b|~/",
    }
    _TOOLS: ClassVar[dict[Capability, tuple[str, ...]]] = {
        Capability.NETWORK: ("webfetch", "websearch", "*"),
        Capability.EXECUTE: ("bash", "shell", "terminal", "*"),
        Capability.WRITE_OUTSIDE: ("write", "edit", "multiedit", "*"),
    }

    def __init__(self, package: SkillPackage) -> None:
        """Collect the declaring text of a package's SKILL.md."""
        manifest = package.manifest
        self._text = ""
        self._tools: list[str] = []
        if manifest is None:
            return
        self._text = f"{manifest.text_field('description') or ''}\n{manifest.body}"
        tools = manifest.data.get("allowed-tools", manifest.data.get("allowed_tools"))
        if isinstance(tools, str):
            self._tools = [t.strip().lower() for t in tools.split(",")]
        elif isinstance(tools, list):
            self._tools = [str(t).strip().lower() for t in tools]

    def declares(self, capability: Capability) -> bool:
        """Return True when SKILL.md grants or mentions the capability."""
        prefixes = self._TOOLS.get(capability, ())
        if any(tool.startswith(prefixes) for tool in self._tools if prefixes):
            return True
        pattern = self._TEXT.get(capability)
        return bool(pattern and re.search(pattern, self._text, re.IGNORECASE))
