"""Signature rules kept as data: the YAML packs, their schema and the matching engine.

Each file of `scanner/rules/` is a pack validated by `RulePack` (unknown keys are
errors). A rule names the file types it reads (`markdown`, `python`, `shell`,
`powershell`, `javascript`, `config`, `requirements`, `html`, `code`, `text`, or `any`),
the Markdown regions (`code`: fenced and indented blocks and inline code; `comment`:
HTML comments; `prose`: the rest; `any`), its patterns (Python regexes, multi-line
mode, case-insensitive unless `case_sensitive`; a group named `secret` is masked in
every snippet), and how evidence moves its severity:

- `exclude`: a pattern found on the hit's lines cancels the hit;
- `raise_when` / `lower_when`: a pattern found on the hit's lines raises the severity
  to at least, or lowers it to at most, the given level (lowering is applied last);
- `escalate`: facts (see `facts.yaml`) all present in the same scope (the file, or the
  Markdown section) raise the severity to at least the given level;
- `lower_in`: facts all present in the same scope lower it to at most the given level
  (a security control switched off inside a VM image being built, not on the user's
  machine), applied after `escalate`;
- in Markdown, an instruction framed as coercive or secret ("without asking",
  "silently") raises one level, while a negated or quoted example drops to INFO.

`{{name}}` in a pattern expands to a fragment of `fragments.yaml`; each host list
there is also a fragment, `{{hosts_<list>}}`. `examples.hit` holds text the rule must
report above INFO, `examples.miss` text it must not (shown in the rule's first file
type; rules for `any` file are shown as Markdown). `ast_fallback` rules apply to Python
only where the file does not parse (the whole file, or the lines set aside to parse the
rest), the syntax-tree checks covering it otherwise.

Before a pattern runs, the literals it cannot match without (derived from the regex:
one of each alternation, every part of its top-level sequence) are looked up in the
case-folded text in one Aho-Corasick pass; a pattern runs only when each of its
requirements is met, which skips most patterns on most files. Patterns
keep every repetition bounded so that no input makes matching quadratic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated

import ahocorasick
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scanner.analyzers._markdown import MarkdownDoc, Region, Verdict
from scanner.analyzers._prefilter import (
    Requirement,
    fold_case,
    required_sets,
)
from scanner.analyzers._text import FileType, LineIndex, make_snippet, mask_secret
from scanner.core.models import Category, Severity

RULES_PACKAGE = "scanner"
RULES_FOLDER = "rules"
MAX_HITS_PER_RULE = 20
_PACK_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FRAGMENT_REF = re.compile(r"\{\{(\w+)\}\}")
_MAX_FRAGMENT_DEPTH = 4
_SEVERITIES = list(Severity)
_WHOLE = frozenset({Region.ANY})

RuleId = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$")
]
_STRICT = ConfigDict(frozen=True, extra="forbid")


class Examples(BaseModel):
    """Documentation that doubles as the rule's unit test."""

    model_config = _STRICT

    hit: list[str] = Field(min_length=1)
    miss: list[str] = Field(min_length=1)


class SeverityWhen(BaseModel):
    """A severity to apply when any of the patterns is found on the hit's lines."""

    model_config = _STRICT

    patterns: list[str] = Field(min_length=1)
    severity: Severity


class FactEscalation(BaseModel):
    """A severity to apply when every named fact holds in the hit's scope."""

    model_config = _STRICT

    facts: list[str] = Field(min_length=1)
    severity: Severity


class RuleSpec(BaseModel):
    """One signature rule, as written in a pack."""

    model_config = _STRICT

    id: RuleId
    title: str = Field(min_length=3)
    category: Category
    severity: Severity
    description: str = Field(min_length=10)
    remediation: str = Field(min_length=5)
    file_types: list[FileType] = Field(min_length=1)
    regions: list[Region] = Field(default_factory=lambda: [Region.ANY], min_length=1)
    patterns: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    raise_when: list[SeverityWhen] = Field(default_factory=list)
    lower_when: list[SeverityWhen] = Field(default_factory=list)
    escalate: list[FactEscalation] = Field(default_factory=list)
    lower_in: list[FactEscalation] = Field(default_factory=list)
    case_sensitive: bool = False
    coercion_raises: bool = Field(
        default=True,
        description="In Markdown, coercive framing raises one level; off for rules whose "
        "pattern is the coercion itself.",
    )
    negation_lowers: bool = Field(
        default=True,
        description="In Markdown, a nearby negation drops the hit to info; off for rules "
        'whose instruction is itself made of negations ("do not open the diff").',
    )
    ast_fallback: bool = Field(
        default=False, description="For Python, apply only when the file does not parse."
    )
    examples: Examples


class FactSpec(BaseModel):
    """A named piece of evidence about a file or section, used by `escalate`."""

    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str
    patterns: list[str] = Field(min_length=1)
    examples: Examples


class TyposquatSpec(BaseModel):
    """Popular package names and domains that look-alikes are measured against."""

    model_config = _STRICT

    pypi: list[str] = Field(min_length=1)
    npm: list[str] = Field(min_length=1)
    domains: list[str] = Field(min_length=1)


class RulePack(BaseModel):
    """One YAML file of `scanner/rules/`."""

    model_config = _STRICT

    pack: str
    description: str
    rules: list[RuleSpec] = Field(default_factory=list)
    facts: list[FactSpec] = Field(default_factory=list)
    fragments: dict[str, str] = Field(default_factory=dict)
    hosts: dict[str, list[str]] = Field(default_factory=dict)
    typosquat: TyposquatSpec | None = None


class RuleError(ValueError):
    """A rule pack is invalid: bad YAML, bad schema, bad regex or a dangling reference."""


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match."""

    spec: RuleSpec
    patterns: tuple[re.Pattern[str], ...]
    literals: tuple[Requirement | None, ...]
    # Per pattern, every requirement of its top level: all must be met for it to run.
    conditions: tuple[tuple[Requirement, ...], ...]
    exclude: tuple[re.Pattern[str], ...]
    raise_when: tuple[tuple[tuple[re.Pattern[str], ...], Severity], ...]
    lower_when: tuple[tuple[tuple[re.Pattern[str], ...], Severity], ...]
    file_types: frozenset[FileType]
    regions: frozenset[Region]

    @property
    def id(self) -> str:
        """Return the rule id."""
        return self.spec.id

    def applies_to(self, kind: FileType) -> bool:
        """Return True when the rule reads files of type `kind`."""
        return FileType.ANY in self.file_types or kind in self.file_types


@dataclass(frozen=True)
class Hit:
    """One match of a rule, with its final severity and a redacted snippet."""

    rule: CompiledRule
    start: int
    line: int
    severity: Severity
    verdict: Verdict
    snippet: str
    masked_secret: str | None = None


class LiteralFinder:
    """Find which of many literals occur in a text, in one Aho-Corasick pass."""

    def __init__(self, literals: Iterable[str]) -> None:
        """Build the automaton once (per worker) from the prefilter literals."""
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for literal in set(literals):
            self._automaton.add_word(literal, literal)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, lowered: str) -> frozenset[str]:
        """Return the literals that occur in a text in `fold_case` form."""
        if self._empty:
            return frozenset()
        return frozenset(literal for _, literal in self._automaton.iter(lowered))


@dataclass
class ScanTarget:
    """One text to scan, with what the engine learns about it along the way."""

    text: str
    kind: FileType
    doc: MarkdownDoc | None = None
    python_parsed: bool = False
    # Lines of a parsed Python file that were set aside to make it parse: the
    # `ast_fallback` rules still read them.
    unparsed_lines: frozenset[int] = frozenset()
    index: LineIndex = field(init=False)
    _facts: dict[tuple[int, int], frozenset[str]] = field(default_factory=dict)
    _lowered: dict[frozenset[Region], tuple[str, str]] = field(default_factory=dict)
    _literals: dict[frozenset[Region], frozenset[str]] = field(default_factory=dict)
    _snippets: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = LineIndex(self.text)

    def view(self, regions: frozenset[Region]) -> tuple[str, str]:
        """Return the text a rule reads (masked in Markdown) and its lower-case form."""
        found = self._lowered.get(regions)
        if found is None:
            text = self.doc.mask(regions) if self.doc is not None else self.text
            found = (text, fold_case(text))
            self._lowered[regions] = found
        return found

    def literals_in(self, regions: frozenset[Region], finder: LiteralFinder) -> frozenset[str]:
        """Return the prefilter literals present in a view, found in one pass per view."""
        found = self._literals.get(regions)
        if found is None:
            found = self._literals[regions] = finder.find(self.view(regions)[1])
        return found

    def scope(self, offset: int) -> tuple[int, int]:
        """Return the span facts are judged on: the Markdown section, else the file."""
        if self.doc is None:
            return 0, len(self.text)
        return self.doc.section_span(offset)


def raise_to(severity: Severity, floor: Severity) -> Severity:
    """Return the higher of two severities."""
    return severity if severity.rank >= floor.rank else floor


def lower_to(severity: Severity, ceiling: Severity) -> Severity:
    """Return the lower of two severities."""
    return severity if severity.rank <= ceiling.rank else ceiling


def step_up(severity: Severity) -> Severity:
    """Return the next severity up, CRITICAL staying CRITICAL."""
    return _SEVERITIES[min(severity.rank + 1, len(_SEVERITIES) - 1)]


def in_context(
    severity: Severity, doc: MarkdownDoc | None, index: LineIndex, line: int
) -> Severity:
    """Return a code finding's severity after the Markdown around its line is read.

    A line the prose escalates (for instance "run this silently") goes one level up; one
    shown as a warning or an example of what not to do drops to INFO; a script (`doc` is
    None) keeps its severity.
    """
    if doc is None:
        return severity
    last = index.line_of(len(index.text))
    start, end = index.line_span(min(max(line, 1), last))
    verdict = doc.context(start, max(end, start + 1))
    if verdict is Verdict.ESCALATED:
        return step_up(severity)
    if verdict in (Verdict.NEGATED, Verdict.EXAMPLE):
        return Severity.INFO
    return severity


class RuleSet:
    """Every rule, fact and list of the packs, compiled once per process."""

    def __init__(self, packs: Iterable[RulePack]) -> None:
        """Compile `packs`; raise `RuleError` on a bad regex or a dangling reference."""
        packs = list(packs)
        self.fragments = _collect_fragments(packs)
        self.hosts = {name: tuple(v) for pack in packs for name, v in pack.hosts.items()}
        specs = [rule for pack in packs for rule in pack.rules]
        _check_unique([spec.id for spec in specs], "rule id")
        facts = [fact for pack in packs for fact in pack.facts]
        _check_unique([fact.id for fact in facts], "fact id")
        self.facts = {fact.id: self._compile_all(fact.patterns, False) for fact in facts}
        self.fact_specs = {fact.id: fact for fact in facts}
        self.rules = tuple(self._compile_rule(spec) for spec in specs)
        self._literal_finder = LiteralFinder(
            literal
            for rule in self.rules
            for conditions in rule.conditions
            for req in conditions
            for literal in req
        )
        self._by_id = {rule.id: rule for rule in self.rules}
        squats = [pack.typosquat for pack in packs if pack.typosquat is not None]
        self.typosquat = squats[0] if squats else None
        secret_rules = [r for r in self.rules if r.spec.category is Category.HARDCODED_SECRET]
        self._secret_patterns = [
            (pattern, _unless_starred(literals))
            for rule in secret_rules
            for pattern, literals in zip(rule.patterns, rule.literals, strict=True)
        ]
        self._secret_finder = LiteralFinder(
            literal for _, req in self._secret_patterns if req for literal in req
        )

    def rule(self, rule_id: str) -> CompiledRule:
        """Return the compiled rule with this id."""
        return self._by_id[rule_id]

    def expand(self, pattern: str) -> str:
        """Return `pattern` with every `{{fragment}}` replaced."""
        for _ in range(_MAX_FRAGMENT_DEPTH):
            if "{{" not in pattern:
                return pattern
            pattern = _FRAGMENT_REF.sub(self._fragment, pattern)
        if "{{" in pattern:
            raise RuleError(f"fragments nest deeper than {_MAX_FRAGMENT_DEPTH} in {pattern!r}")
        return pattern

    def _fragment(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name in self.fragments:
            return self.fragments[name]
        hosts = self.hosts.get(name.removeprefix("hosts_"))
        if name.startswith("hosts_") and hosts is not None:
            alternatives = "|".join(re.escape(host) for host in hosts)
            return rf"(?=\w)(?<![\w.-])(?:[\w-]{{1,63}}\.){{0,8}}?(?:{alternatives})\b"
        raise RuleError(f"unknown fragment {{{{{name}}}}}")

    def _compile_all(
        self, patterns: list[str], case_sensitive: bool
    ) -> tuple[re.Pattern[str], ...]:
        flags = re.MULTILINE | (0 if case_sensitive else re.IGNORECASE)
        compiled = []
        for pattern in patterns:
            try:
                compiled.append(re.compile(self.expand(pattern), flags))
            except re.error as exc:
                raise RuleError(f"bad regex {pattern!r}: {exc}") from exc
        return tuple(compiled)

    def _compile_rule(self, spec: RuleSpec) -> CompiledRule:
        unknown = {f for step in [*spec.escalate, *spec.lower_in] for f in step.facts} - set(
            self.facts
        )
        if unknown:
            raise RuleError(f"rule {spec.id} escalates on unknown facts {sorted(unknown)}")
        case = spec.case_sensitive
        patterns = self._compile_all(spec.patterns, case)
        conditions = tuple(required_sets(p.pattern, p.flags) for p in patterns)
        return CompiledRule(
            spec=spec,
            patterns=patterns,
            # The strongest requirement of each pattern, where one set is enough.
            literals=tuple(found[0] if found else None for found in conditions),
            conditions=conditions,
            exclude=self._compile_all(spec.exclude, case),
            raise_when=tuple(
                (self._compile_all(w.patterns, case), w.severity) for w in spec.raise_when
            ),
            lower_when=tuple(
                (self._compile_all(w.patterns, case), w.severity) for w in spec.lower_when
            ),
            file_types=frozenset(spec.file_types),
            regions=frozenset(spec.regions),
        )

    def facts_in(self, text: str) -> frozenset[str]:
        """Return the ids of the facts that hold in `text`."""
        return frozenset(
            fact for fact, patterns in self.facts.items() if any(p.search(text) for p in patterns)
        )

    def redact(self, text: str) -> str:
        """Return `text` with every secret any secret rule recognises masked.

        A pattern runs only when one of its prefilter literals is in the text: one
        Aho-Corasick pass replaces a pass of each of the thirty-odd patterns. Masking
        cannot make a literal appear (see `_unless_starred`), so the look-up is done once.
        """
        present = self._secret_finder.find(fold_case(text))
        for pattern, literals in self._secret_patterns:
            if literals is None or not literals.isdisjoint(present):
                text = pattern.sub(_masked_match, text)
        return text

    def scan(self, target: ScanTarget, rule_ids: frozenset[str] | None = None) -> list[Hit]:
        """Return the hits of every applicable rule, one per rule and line (the worst)."""
        best: dict[tuple[str, int], Hit] = {}
        for rule in self.rules:
            if rule_ids is not None and rule.id not in rule_ids:
                continue
            if not self._applies(rule, target):
                continue
            partial = rule.spec.ast_fallback and target.python_parsed
            for hit in self._scan_rule(rule, target):
                if partial and hit.line not in target.unparsed_lines:
                    continue
                key = (rule.id, hit.line)
                if key not in best or hit.severity.rank > best[key].severity.rank:
                    best[key] = hit
        return sorted(best.values(), key=lambda hit: (hit.start, hit.rule.id))

    def _applies(self, rule: CompiledRule, target: ScanTarget) -> bool:
        if not rule.applies_to(target.kind):
            return False
        return not (rule.spec.ast_fallback and target.python_parsed and not target.unparsed_lines)

    def _scan_rule(self, rule: CompiledRule, target: ScanTarget) -> Iterable[Hit]:
        regions = rule.regions if target.doc is not None else _WHOLE
        text, _ = target.view(regions)
        count = 0
        present = target.literals_in(regions, self._literal_finder)
        for pattern, conditions in zip(rule.patterns, rule.conditions, strict=True):
            if any(requirement.isdisjoint(present) for requirement in conditions):
                continue
            for match in pattern.finditer(text):
                hit = self._judge(rule, target, match)
                if hit is None:
                    continue
                yield hit
                count += 1
                if count >= MAX_HITS_PER_RULE:
                    return

    def _judge(self, rule: CompiledRule, target: ScanTarget, match: re.Match[str]) -> Hit | None:
        start, end = match.span()
        lines = target.index.lines_around(start, end)
        if any(p.search(lines) for p in rule.exclude):
            return None
        severity = self._evidence_severity(rule, target, start, lines)
        verdict = Verdict.PLAIN
        if target.doc is not None:
            verdict = target.doc.context(start, end)
            if verdict is Verdict.NEGATED and not rule.spec.negation_lowers:
                verdict = Verdict.PLAIN
            if verdict is Verdict.ESCALATED and rule.spec.coercion_raises:
                severity = step_up(severity)
            elif verdict in (Verdict.NEGATED, Verdict.EXAMPLE):
                severity = Severity.INFO
        line = target.index.line_of(start)
        secret = _secret_of(match)
        masked = mask_secret(secret) if secret else None
        if secret:
            raw = target.index.line_text(line).replace(secret, mask_secret(secret))
            snippet = make_snippet(self.redact(raw))
        else:
            # NOTE: many hits on one long line share its snippet; redacting the whole line
            # again for each would be quadratic in a hostile file.
            snippet = target._snippets.get(line) or ""
            if line not in target._snippets:
                snippet = target._snippets[line] = make_snippet(
                    self.redact(target.index.line_text(line))
                )
        return Hit(rule, start, line, severity, verdict, snippet, masked)

    def _evidence_severity(
        self, rule: CompiledRule, target: ScanTarget, start: int, lines: str
    ) -> Severity:
        severity = rule.spec.severity
        for patterns, floor in rule.raise_when:
            if any(p.search(lines) for p in patterns):
                severity = raise_to(severity, floor)
        if rule.spec.escalate or rule.spec.lower_in:
            facts = self._facts_for(target, start)
            for step in rule.spec.escalate:
                if facts.issuperset(step.facts):
                    severity = raise_to(severity, step.severity)
            for step in rule.spec.lower_in:
                if facts.issuperset(step.facts):
                    severity = lower_to(severity, step.severity)
        for patterns, ceiling in rule.lower_when:
            if any(p.search(lines) for p in patterns):
                severity = lower_to(severity, ceiling)
        return severity

    def _facts_for(self, target: ScanTarget, offset: int) -> frozenset[str]:
        scope = target.scope(offset)
        found = target._facts.get(scope)
        if found is None:
            found = self.facts_in(target.text[scope[0] : scope[1]])
            target._facts[scope] = found
        return found


def _unless_starred(literals: Requirement | None) -> Requirement | None:
    """Return the literals, or None (always run) if one holds the mask's `*`.

    Masking only puts `***` where characters were, so a literal without `*` that is
    absent before masking is absent after it.
    """
    if literals is None or any("*" in literal for literal in literals):
        return None
    return literals


def _masked_match(match: re.Match[str]) -> str:
    secret = _secret_of(match) or match.group()
    return match.group().replace(secret, mask_secret(secret))


def _secret_of(match: re.Match[str]) -> str | None:
    if "secret" not in match.re.groupindex:
        return None
    return match.group("secret")


def _collect_fragments(packs: list[RulePack]) -> dict[str, str]:
    fragments: dict[str, str] = {}
    for pack in packs:
        for name, value in pack.fragments.items():
            if name in fragments:
                raise RuleError(f"fragment {name!r} is defined twice")
            fragments[name] = value
    return fragments


def _check_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise RuleError(f"duplicate {what} {item!r}")
        seen.add(item)


def parse_pack(text: str, name: str) -> RulePack:
    """Validate the YAML text of one pack."""
    try:
        # NOTE: the C loader parses the packs about ten times faster than the pure
        # Python one; the packs ship with the code, so the safe subset is all they use.
        data = yaml.load(text, Loader=_PACK_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise RuleError(f"{name}: invalid YAML: {exc}") from exc
    try:
        return RulePack.model_validate(data)
    except ValueError as exc:
        raise RuleError(f"{name}: {exc}") from exc


def load_packs() -> list[RulePack]:
    """Read and validate every pack shipped in `scanner/rules/` (not its `checks/` catalogue)."""
    folder = resources.files(RULES_PACKAGE) / RULES_FOLDER
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml") and e.is_file()),
        key=lambda e: e.name,
    )
    return [parse_pack(entry.read_text(encoding="utf-8"), entry.name) for entry in entries]


@functools.cache
def default_ruleset() -> RuleSet:
    """Return the shipped rules, compiled once per process."""
    return RuleSet(load_packs())
