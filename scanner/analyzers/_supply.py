"""Look-alike package names and domains, measured against the popular names of the packs.

Package names come from requirements files, `pip install` / `npm install` commands and
`package.json` dependencies; domains from URLs. A name one edit away (Damerau:
insertion, deletion, substitution or swap of neighbours) from a popular name that is
not itself popular is high; two edits away, for longer names, medium.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from scanner.analyzers._pyast import CodeCheck
from scanner.analyzers._rules import TyposquatSpec
from scanner.analyzers._text import FileType, LineIndex
from scanner.core.models import Category, Severity

TYPOSQUAT = CodeCheck(
    "supply.typosquat",
    "Package name one or two letters away from a popular package",
    Category.SUPPLY_CHAIN,
    "A dependency is named like a popular package with a letter added, dropped, "
    "swapped or changed (`reqeusts`, `colourama`): the usual way malicious packages "
    "get installed by mistake.",
    "Check the spelling against the registry and pin the intended package with a hash.",
)
LOOKALIKE_DOMAIN = CodeCheck(
    "supply.lookalike-domain",
    "Domain that imitates a well-known one",
    Category.SUPPLY_CHAIN,
    "A URL points at a domain one or two letters away from a well-known one "
    "(`githb.com`, `github.co`) or at an internationalised (punycode) name: the usual "
    "disguise of a malicious download or a phishing page.",
    "Use the official domain.",
)
CHECKS = (TYPOSQUAT, LOOKALIKE_DOMAIN)

MIN_NAME_CHARS = 5
MIN_FAR_NAME_CHARS = 8
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;@ ]|$)")
_PIP_INSTALL = re.compile(
    r"\b(?:(?:pip3?|python[23]?\s+-m\s+pip|uv\s+pip|pipx)\s+install|uv\s+add|poetry\s+add)"
    r"\s+([^\n;&|#`\"')]+)"
)
_NPM_INSTALL = re.compile(
    r"\b(?:(?:npm|pnpm|yarn|bun)\s+(?:install|i|add)|npx(?:\s+(?:-y|--yes))?|bunx|pnpm\s+dlx)"
    r"\s+([^\n;&|#`\"')]+)"
)
_ARGV_INSTALL = re.compile(
    r"[\"'](?P<tool>pip3?|npm)[\"']\s*,\s*(?:[\"']-m[\"']\s*,\s*[\"']pip[\"']\s*,\s*)?"
    r"[\"'](?:install|i|add)[\"']\s*,\s*(?P<rest>[^\]\)\n]+)"
)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")
_URL_HOST = re.compile(r"\b(?:https?|ftp)://([A-Za-z0-9.-]+\.[A-Za-z]{2,})(?=[/:?#\s\"')\]>`]|$)")
_COM_TYPOS = frozenset({"co", "cm", "om", "con", "comm", "cpm", "xom", "vom"})
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})
_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class SupplyHit:
    """A look-alike name and the popular name it resembles."""

    check: CodeCheck
    line: int
    severity: Severity
    name: str
    similar_to: str
    distance: int


def damerau(a: str, b: str, limit: int = 2) -> int:
    """Return the optimal-string-alignment distance of two strings, capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def normalize(name: str) -> str:
    """Return a package name in PEP 503 form (lower case, one `-` between parts)."""
    return _SEPARATORS.sub("-", name.strip().lower())


class LookalikeChecker:
    """Compare package names and domains with the popular lists of a rule pack."""

    def __init__(self, spec: TyposquatSpec) -> None:
        """Index the popular names."""
        self._popular = {
            "pypi": frozenset(normalize(n) for n in spec.pypi),
            "npm": frozenset(n.lower() for n in spec.npm),
        }
        self._domains = frozenset(d.lower() for d in spec.domains)

    def check(self, text: str, kind: FileType, path: str) -> list[SupplyHit]:
        """Return look-alike package names and domains in one file."""
        index = LineIndex(text)
        hits = [
            hit
            for ecosystem, name, offset in _package_names(text, kind, path)
            for hit in self._package_hit(ecosystem, name, index.line_of(offset))
        ]
        hits.extend(self._domain_hits(text, index))
        return hits

    def _package_hit(self, ecosystem: str, raw: str, line: int) -> Iterator[SupplyHit]:
        name = normalize(raw) if ecosystem == "pypi" else raw.lower()
        popular = self._popular[ecosystem]
        if len(name) < MIN_NAME_CHARS or name in popular:
            return
        best = min((damerau(name, p), p) for p in popular if len(p) >= MIN_NAME_CHARS)
        distance, similar = best
        if distance == 1 or (distance == 2 and len(name) >= MIN_FAR_NAME_CHARS):
            severity = Severity.HIGH if distance == 1 else Severity.MEDIUM
            yield SupplyHit(TYPOSQUAT, line, severity, raw, similar, distance)

    def _domain_hits(self, text: str, index: LineIndex) -> Iterator[SupplyHit]:
        seen: set[str] = set()
        for match in _URL_HOST.finditer(text):
            host = match.group(1).lower().rstrip(".")
            domain = registrable(host)
            if domain in seen or domain in self._domains:
                continue
            seen.add(domain)
            hit = self._domain_hit(host, domain, index.line_of(match.start()))
            if hit is not None:
                yield hit

    def _domain_hit(self, host: str, domain: str, line: int) -> SupplyHit | None:
        if "xn--" in host:
            return SupplyHit(LOOKALIKE_DOMAIN, line, Severity.MEDIUM, host, "punycode", 0)
        label, _, tld = domain.partition(".")
        for popular in self._domains:
            p_label, _, p_tld = popular.partition(".")
            if label == p_label and p_tld == "com" and tld in _COM_TYPOS:
                return SupplyHit(LOOKALIKE_DOMAIN, line, Severity.HIGH, domain, popular, 1)
            if tld != p_tld or len(label) < MIN_NAME_CHARS or label == p_label:
                continue
            distance = damerau(label, p_label)
            if distance == 1 or (distance == 2 and len(label) >= MIN_FAR_NAME_CHARS - 1):
                return SupplyHit(LOOKALIKE_DOMAIN, line, Severity.HIGH, domain, popular, distance)
        return None


def registrable(host: str) -> str:
    """Return the registrable part of a host name (`a.b.example.co.uk` -> `example.co.uk`)."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _package_names(text: str, kind: FileType, path: str) -> Iterator[tuple[str, str, int]]:
    """Yield (ecosystem, name, offset) for every dependency a file names."""
    if kind is FileType.REQUIREMENTS:
        yield from _requirement_names(text)
    elif path.rsplit("/", 1)[-1] == "package.json":
        yield from _package_json_names(text)
    if kind is not FileType.REQUIREMENTS:
        yield from _command_names(text)
        yield from _argv_names(text)


def _requirement_names(text: str) -> Iterator[tuple[str, str, int]]:
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "-", "git+", "http")) and "://" not in line:
            match = _REQUIREMENT.match(line)
            if match:
                yield "pypi", match.group(1), offset
        offset += len(line) + 1


def _command_names(text: str) -> Iterator[tuple[str, str, int]]:
    for ecosystem, pattern in (("pypi", _PIP_INSTALL), ("npm", _NPM_INSTALL)):
        for match in pattern.finditer(text):
            for token in match.group(1).split():
                name = _bare_name(token, ecosystem)
                if name:
                    yield ecosystem, name, match.start()


def _argv_names(text: str) -> Iterator[tuple[str, str, int]]:
    """Yield names from argument lists such as `["pip", "install", "name"]`."""
    for match in _ARGV_INSTALL.finditer(text):
        ecosystem = "npm" if match.group("tool") == "npm" else "pypi"
        for token in _QUOTED.findall(match.group("rest")):
            name = _bare_name(token, ecosystem)
            if name:
                yield ecosystem, name, match.start()


def _bare_name(token: str, ecosystem: str) -> str | None:
    token = token.strip("\"'`")
    if not token or token.startswith(("-", ".", "/", "~", "$", "<", "{")) or "://" in token:
        return None
    if ecosystem == "npm":
        token = (
            token.rsplit("@", 1)[0] if token.count("@") > (1 if token[0] == "@" else 0) else token
        )
        return token if re.fullmatch(r"(?:@[\w.-]+/)?[\w.-]+", token) else None
    match = _REQUIREMENT.match(token)
    return match.group(1) if match else None


def _package_json_names(text: str) -> Iterator[tuple[str, str, int]]:
    try:
        data = json.loads(text)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    for section in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
        deps = data.get(section)
        if isinstance(deps, dict):
            for name in deps:
                yield "npm", str(name), max(text.find(f'"{name}"'), 0)
