"""Run the YARA packs of `scanner/rules/yara/` with yara-x, for what regexes on text miss.

YARA reads bytes: executables (droppers, miners, packed or key-carrying binaries),
shellcode, and string sets counted with `N of them` (stealers, miner configurations,
web shells). Each pack is one `.yar` file compiled in its own namespace; every public
rule carries `meta` fields `id`, `severity`, `category`, `title`, `why`, `remediation`,
`hit` and `miss` (examples: plain text, or `hex:` / `base64:` followed by the bytes),
validated by `YaraMeta`. The examples double as the rules' unit test.

Compiled rules cannot be pickled, so they are built lazily, once per process (each
sandbox worker), and kept in a module-level cache.
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from importlib import resources

import yara_x
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner.analyzers._rules import RuleId
from scanner.core.models import Category, Severity

YARA_FOLDER = ("rules", "yara")
SCAN_TIMEOUT_SECONDS = 5
MAX_MATCHES_PER_PATTERN = 16
MAX_TEXT_BYTES = 1024 * 1024
"""Text files larger than this are left to the regex rules (binary files are read whole)."""

_RULE_HEAD = re.compile(r"^(private\s+)?rule\s+(\w+)[^{]*\{", re.MULTILINE)
_META_BLOCK = re.compile(r"\bmeta:\s*(.*?)\n\s*(?:strings|condition):", re.DOTALL)
_META_FIELD = re.compile(r'^\s*(\w+)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*$', re.MULTILINE)
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


class YaraError(ValueError):
    """A YARA pack does not compile, or a rule's meta is missing or invalid."""


class YaraMeta(BaseModel):
    """The documented fields every public YARA rule carries in its `meta` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RuleId
    severity: Severity
    category: Category
    title: str = Field(min_length=3)
    why: str = Field(min_length=10)
    remediation: str = Field(min_length=5)
    hit: str = Field(min_length=1)
    miss: str = Field(min_length=1)


@dataclass(frozen=True)
class YaraRule:
    """One public rule of a pack, as written."""

    pack: str
    name: str
    meta: YaraMeta


@dataclass(frozen=True)
class YaraHit:
    """One rule that matched: offsets (bytes) of its first matches, the first one in context."""

    meta: YaraMeta
    offsets: tuple[int, ...]
    matched: bytes
    length: int = 0


def example_bytes(example: str) -> bytes:
    """Return the bytes an example stands for: `hex:`, `base64:` or UTF-8 text."""
    if example.startswith("hex:"):
        return bytes.fromhex("".join(example[4:].split()))
    if example.startswith("base64:"):
        return base64.b64decode("".join(example[7:].split()), validate=True)
    return example.encode("utf-8")


def pack_sources() -> dict[str, str]:
    """Return the source of every shipped pack, by file name."""
    folder = resources.files("scanner").joinpath(*YARA_FOLDER)
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".yar")), key=lambda e: e.name)
    return {entry.name: entry.read_text(encoding="utf-8") for entry in entries}


def parse_rules(name: str, source: str) -> list[YaraRule]:
    """Return the public rules of one pack with their validated meta."""
    rules: list[YaraRule] = []
    heads = list(_RULE_HEAD.finditer(source))
    for index, head in enumerate(heads):
        if head.group(1):
            continue
        end = heads[index + 1].start() if index + 1 < len(heads) else len(source)
        block = _META_BLOCK.search(source, head.end(), end)
        if block is None:
            raise YaraError(f"{name}: rule {head.group(2)} has no meta section")
        fields = {key: _unescape(value) for key, value in _META_FIELD.findall(block.group(1))}
        try:
            meta = YaraMeta.model_validate(fields)
        except ValidationError as exc:
            raise YaraError(f"{name}: rule {head.group(2)}: {exc}") from exc
        rules.append(YaraRule(name, head.group(2), meta))
    return rules


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), value)


def all_rules() -> list[YaraRule]:
    """Return the public rules of every shipped pack; raise `YaraError` on a duplicate id."""
    rules = [rule for name, source in pack_sources().items() for rule in parse_rules(name, source)]
    seen: set[str] = set()
    for rule in rules:
        if rule.meta.id in seen:
            raise YaraError(f"duplicate YARA rule id {rule.meta.id!r}")
        seen.add(rule.meta.id)
    return rules


def compile_sources(sources: dict[str, str]) -> yara_x.Rules:
    """Compile packs, each in its own namespace; raise `YaraError` when one does not build."""
    compiler = yara_x.Compiler()
    for name, source in sources.items():
        compiler.new_namespace(name.removesuffix(".yar"))
        try:
            compiler.add_source(source, origin=name)
        except yara_x.CompileError as exc:
            raise YaraError(f"{name}: {exc}") from exc
    return compiler.build()


class YaraEngine:
    """The compiled packs and one scanner, for the life of a process."""

    def __init__(self, sources: dict[str, str]) -> None:
        """Compile `sources` and index the meta of their public rules."""
        self._meta = {
            (name.removesuffix(".yar"), rule.name): rule.meta
            for name, source in sources.items()
            for rule in parse_rules(name, source)
        }
        self._rules = compile_sources(sources)
        self._scanner = yara_x.Scanner(self._rules)
        self._scanner.set_timeout(SCAN_TIMEOUT_SECONDS)
        self._scanner.max_matches_per_pattern(MAX_MATCHES_PER_PATTERN)

    @property
    def rule_count(self) -> int:
        """Return how many public rules the packs hold."""
        return len(self._meta)

    def scan(self, data: bytes) -> list[YaraHit]:
        """Return the rules that match `data`, in pack order; a timeout yields none."""
        try:
            results = self._scanner.scan(data)
        except yara_x.TimeoutError:
            # SECURITY: a crafted input that makes matching slow loses YARA coverage only;
            # the regex rules and the other analyzers still judge the file.
            return []
        hits = []
        for rule in results.matching_rules:
            meta = self._meta.get((rule.namespace, rule.identifier))
            if meta is None:
                continue
            found = sorted(m.offset for p in rule.patterns for m in p.matches)
            first = next((m for p in rule.patterns for m in p.matches), None)
            matched = _context(data, first.offset, first.length) if first else b""
            length = first.length if first else 0
            hits.append(YaraHit(meta, tuple(found[:MAX_MATCHES_PER_PATTERN]), matched, length))
        return hits


def _context(data: bytes, offset: int, length: int) -> bytes:
    """Return a match widened to the printable run around it, as `strings` would show it."""
    start, end = offset, offset + min(length, _CONTEXT_BYTES)
    while start > 0 and offset - start < _CONTEXT_BYTES // 2 and _printable_byte(data[start - 1]):
        start -= 1
    while end < len(data) and end - start < _CONTEXT_BYTES and _printable_byte(data[end]):
        end += 1
    return data[start:end]


def _printable_byte(value: int) -> bool:
    return 0x20 <= value < 0x7F


_CONTEXT_BYTES = 120


@functools.cache
def default_engine() -> YaraEngine:
    """Return the shipped packs, compiled on first use in this process."""
    return YaraEngine(pack_sources())
