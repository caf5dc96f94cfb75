"""Values the shell front end tracks: text when it is known, and the taints it carries.

Also the tables that classify paths, variable names and hosts, built from the
signature fragments so that both engines agree on what a secret path looks like.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from scanner.analyzers._rules import default_ruleset
from scanner.analyzers._vendors import is_vendor_host, vendor_of
from scanner.analyzers.behavioral.flow import SourceKind, Step
from scanner.core.models import Severity, SkillPackage

MAX_TAINTS = 6
MAX_STEPS = 16
MAX_TEXT = 2048

DECODERS = frozenset(
    {"base64-decode", "hex-decode", "gunzip", "decrypt", "rot13", "reverse", "uudecode"}
)
SECRET_SOURCES = frozenset(
    {
        SourceKind.ENV,
        SourceKind.CREDENTIAL_FILE,
        SourceKind.AGENT_CONFIG,
        SourceKind.BROWSER_STORE,
        SourceKind.KEYCHAIN,
    }
)
_SECRET_NAME = re.compile(
    r"SECRET|TOKEN|PASSW(?:OR)?D|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL"
    r"|AUTH|SESSION|COOKIE|^PGPASS",
    re.IGNORECASE,
)
_NOT_SECRET_NAME = re.compile(
    r"_(?:URL|URI|PATH|FILE|DIR|HOST|ENDPOINT|REGION|NAME|TYPE|MODE)$", re.IGNORECASE
)
_SCRATCH = ("/dev/", "/tmp/", "/var/tmp/", "/proc/self/")  # noqa: S108 - compared, not used
_HOST = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://(?:[^@/?#\s]*@)?([^/?#:\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Taint:
    """Sensitive or untrusted data, with the hops it took so far."""

    source: SourceKind
    steps: tuple[Step, ...]
    transforms: tuple[str, ...] = ()
    label: str = ""
    """The variable, path or URL that was read."""

    def then(self, step: Step, transform: str | None = None) -> Taint:
        """Return this taint one hop further (the hop is dropped past `MAX_STEPS`)."""
        steps = self.steps if len(self.steps) >= MAX_STEPS else (*self.steps, step)
        transforms = self.transforms if transform is None else (*self.transforms, transform)
        return Taint(self.source, steps, transforms[:MAX_STEPS], self.label)


@dataclass(frozen=True)
class Value:
    """What a shell word or a command's output holds, as far as it is known."""

    text: str = ""
    exact: bool = True
    """False when `text` is the source text of something unknown (`$X`, `$(cmd)`)."""
    taints: tuple[Taint, ...] = ()

    def then(self, step: Step, transform: str | None = None) -> Value:
        """Return the value with every taint one hop further."""
        if not self.taints:
            return self
        return Value(self.text, self.exact, tuple(t.then(step, transform) for t in self.taints))

    def opaque(self, text: str | None = None) -> Value:
        """Return the same taints with text that is no longer known."""
        return Value(self.text if text is None else text, False, self.taints)


EMPTY = Value()


@dataclass(frozen=True)
class Call:
    """One simple command, with its words evaluated."""

    name: str
    args: tuple[Value, ...]
    stdin: Value
    line: int
    name_value: Value

    def flags(self) -> set[str]:
        """Return the words that look like options."""
        return {a.text for a in self.args if a.text.startswith("-")}

    def operands(self) -> list[Value]:
        """Return the words that are not options."""
        return [a for a in self.args if not a.text.startswith("-") or a.text == "-"]


def concat(values: Iterable[Value], sep: str = "") -> Value:
    """Join values as the shell joins words: text end to end, taints merged."""
    parts: list[str] = []
    exact = True
    taints: list[Taint] = []
    for value in values:
        parts.append(value.text)
        exact = exact and value.exact
        taints.extend(value.taints)
    return Value(sep.join(parts)[:MAX_TEXT], exact, merge_taints(taints))


def merge_taints(taints: Iterable[Taint]) -> tuple[Taint, ...]:
    """Return distinct taints (by source, label and first line), at most `MAX_TAINTS`."""
    seen: set[tuple[SourceKind, str, int]] = set()
    kept: list[Taint] = []
    for taint in taints:
        key = (taint.source, taint.label, taint.steps[0].line if taint.steps else 0)
        if key in seen:
            continue
        seen.add(key)
        kept.append(taint)
        if len(kept) >= MAX_TAINTS:
            break
    return tuple(kept)


def is_secret_name(name: str) -> bool:
    """Return True for variable names that hold credentials (`AWS_SECRET_ACCESS_KEY`)."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def host_of(url: str | None) -> str | None:
    """Return the lower-case host of a URL, or None."""
    if not url:
        return None
    match = _HOST.match(url.strip("\"'"))
    return match.group(1).lower() if match else None


_HOST_VARIABLE = re.compile(
    r"^(?:https?://)?\$\{?([A-Za-z][A-Za-z0-9]*)_\w*?(?:URL|URI|SITE|HOST|DOMAIN|BASE|ENDPOINT"
    r"|INSTANCE|SERVER|ORIGIN)\}?(?:[/:?]|$)",
    re.IGNORECASE,
)


def vendor_host_variable(variables: str, destination: str | None) -> bool:
    """Return True when every token goes to a host held in a variable of the same vendor.

    `$JIRA_API_TOKEN` to `$JIRA_SITE/rest/...`: the user's own instance of the service
    the token belongs to, configured beside the token.
    """
    match = _HOST_VARIABLE.match((destination or "").strip("\"'"))
    if match is None:
        return False
    vendor = match.group(1).lower()
    names = [n.strip().lower() for n in variables.split(",") if n.strip()]
    return (
        bool(names)
        and len(vendor) >= 3
        and all(n.split("_", 1)[0] == vendor or not is_secret_name(n) for n in names)
        and any(n.split("_", 1)[0] == vendor for n in names)
    )


def vendor_matches(variable: str, destination: str | None) -> bool:
    """Return True when a token variable goes to its own vendor (`GITHUB_TOKEN` to github)."""
    host = host_of(destination)
    if host is None or "$" in host:
        return False
    vendor = vendor_of(variable)
    return vendor is not None and is_vendor_host(vendor, host)


@dataclass(frozen=True)
class PathTables:
    """Compiled patterns that say what a path or URL is."""

    browser: re.Pattern[str]
    agent_secret: re.Pattern[str]
    credential: re.Pattern[str]
    persistence: re.Pattern[str]
    untrusted: re.Pattern[str]
    installer: re.Pattern[str]
    release: re.Pattern[str]


@functools.cache
def tables() -> PathTables:
    """Return the path tables, compiled once per process from the shared fragments."""
    rules = default_ruleset()
    flags = re.IGNORECASE

    def compile_(pattern: str) -> re.Pattern[str]:
        return re.compile(rules.expand(pattern), flags)

    return PathTables(
        browser=compile_(
            r"Login Data|logins\.json|key4\.db|Cookies(?:\.sqlite)?\b|Local State|wallet\.dat"
            r"|Keychains[/\\]|\.mozilla[/\\]firefox|Google[/\\]Chrome"
        ),
        agent_secret=compile_(r"\.claude[/\\]+\.credentials\.json|\.codex[/\\]+auth\.json"),
        credential=compile_(
            r"{{secret_path}}|{{dotenv}}|\.ssh[/\\]+(?:id_[\w*?]*|identity|\*)(?![\w.*?-]*\.pub)"
            r"|\.(?:netrc|git-credentials|pgpass)\b|/etc/shadow\b|\.(?:bash|zsh)_history\b"
            r"|\.gnupg\b|\.kube[/\\]+config|\.docker[/\\]+config\.json|\.config[/\\]+gcloud"
        ),
        persistence=compile_(
            r"{{shell_rc}}|{{agent_files}}|authorized_keys\b|/etc/cron|/var/spool/cron"
            r"|systemd[/\\]+(?:system|user)[/\\]|LaunchAgents|LaunchDaemons|\.git[/\\]+hooks"
            r"|/etc/(?:profile|rc\.local|ld\.so\.preload|sudoers|environment)|\.ssh[/\\]+config\b"
        ),
        untrusted=compile_(r"{{untrusted_dest}}"),
        installer=compile_(r"^[a-z]+://{{hosts_installer}}"),
        release=compile_(r"^[a-z]+://{{hosts_release}}"),
    )


def download_severity(origin: str) -> Severity:
    """Return how bad running text downloaded from `origin` is, by who serves it.

    An official installer host is low, a release host (where anyone can publish) medium,
    a known-untrusted destination critical, and any other host high.
    """
    found = tables()
    if found.untrusted.search(origin):
        return Severity.CRITICAL
    if found.installer.search(origin):
        return Severity.LOW
    if found.release.search(origin):
        return Severity.MEDIUM
    return Severity.HIGH


_HTTPS_HOST = re.compile(r"https://([a-z0-9.-]+)", re.IGNORECASE)
_NAME_WORD = re.compile(r"[a-z0-9]+")
_PLAIN_NAME_WORDS = frozenset(
    {"skill", "skills", "setup", "install", "installer", "tool", "tools", "helper", "agent",
     "agents", "code", "claude", "github", "plugin", "server", "client", "official", "guide"}
)  # fmt: skip


def skill_words(package: SkillPackage) -> frozenset[str]:
    """Return the words of the skill's name and author (4 letters or more)."""
    data = package.manifest.data if package.manifest is not None else {}
    metadata = data.get("metadata")
    author = metadata.get("author") if isinstance(metadata, dict) else data.get("author")
    texts = [str(value) for value in (data.get("name"), author) if isinstance(value, str)]
    return frozenset(
        word
        for text in texts
        for word in _NAME_WORD.findall(text.lower())
        if len(word) >= 4 and word not in _PLAIN_NAME_WORDS
    )


def own_vendor_host(text: str, words: frozenset[str]) -> bool:
    """Return True when an HTTPS host in `text` is the skill's own vendor's.

    The host's domain (the label before the suffix) begins with a word of the skill's
    name or author: `morph-cli` installing from `www.morphllm.com`. Hosts where anyone
    publishes (release and raw-file hosts) never count.
    """
    found = tables()
    for host in _HTTPS_HOST.findall(text):
        labels = host.lower().split(".")
        if len(labels) < 2 or found.release.search(f"https://{host}/"):
            continue
        if found.untrusted.search(f"https://{host}/"):
            continue
        if any(labels[-2].startswith(word) for word in words):
            return True
    return False


def classify_path(path: str) -> SourceKind | None:
    """Return the kind of secret a path holds, or None for an ordinary file."""
    found = tables()
    if found.browser.search(path):
        return SourceKind.BROWSER_STORE
    if found.agent_secret.search(path):
        return SourceKind.AGENT_CONFIG
    if found.credential.search(path):
        return SourceKind.CREDENTIAL_FILE
    return None


def is_outside(path: str) -> bool:
    """Return True for a path outside the skill's own folder (home, absolute)."""
    # NOTE: scratch space and devices are not "outside" in the sense of a lasting write.
    if path.startswith(_SCRATCH) or path == "-":
        return False
    return path.startswith(("/", "~", "$HOME", "${HOME}", ".."))
