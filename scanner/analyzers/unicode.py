"""Find text hidden or disguised with Unicode: tag characters, zero-width splits, bidi, homoglyphs.

Rules:
    unicode.tag-characters (high; critical when the decoded text trips a signature):
        characters U+E0000-U+E007F render as nothing but spell ASCII to a language model
        ("ASCII smuggling"). The decoded text is in the finding and its metadata.
    unicode.variation-selector-smuggling (medium; high when the run decodes to text,
        critical when that text trips a signature): four or more variation selectors in a
        row carry bytes (VS1-16 = 0-15, VS17-256 = 16-255). A single emoji selector is normal.
    unicode.invisible-run (medium; high/critical as above): sixteen or more invisible
        characters in a row, decoded as bits when two symbols alternate.
    unicode.zero-width-evasion (high): zero-width characters split ASCII words, and the
        line with them removed matches signatures it did not match before.
    unicode.zero-width-split (medium from three splits, else low): zero-width characters
        inside ASCII words with no signature behind them. A word joiner (U+2060) or soft
        hyphen alone is typography and is not reported; nor is U+200D between emoji.
    unicode.bidi-control (high in code and configuration, medium in prose, info next to
        right-to-left text; isolates alone next to right-to-left text are info in
        configuration and low in code): bidirectional overrides and isolates reorder
        what is shown against what is parsed ("Trojan Source").
    unicode.homoglyph-evasion (high): words mixing Latin with look-alike letters of another
        script that, folded to ASCII, are injection, credential or command words (curl
        with a Cyrillic es),
        or make the line match signatures; fullwidth and mathematical letters are folded too.
    unicode.mixed-script (medium): other words of prose that mix Latin with look-alikes.
    unicode.confusable-domain (high): a host name whose labels mix Latin with look-alikes
        (paypal.com with a Cyrillic a), or a wholly look-alike label next to ASCII ones.
    unicode.confusable-identifier (medium; high when it reads exactly as another name of
        the file): an identifier in code that mixes Latin with look-alikes.
    hidden.markup-instruction (high; medium for a `<details>` body unless it steers the
        agent): a link or image title, a reference-definition title, alt text, a
        CSS-hidden element or a collapsed `<details>` block holds text that trips the
        signatures, read as prose and as a hidden comment. Quoted examples under a
        security heading, and code blocks, are left alone.

Look-alike letters come from the Unicode TR39 confusables (package
`confusable-homoglyphs`, loaded once per worker): letters of other scripts that look like
an ASCII letter. Latin letters with diacritics never count.

False positives: mixed-script product names and transliterations; words that are
entirely Cyrillic, Greek or another script (real translations, international domains)
are never reported. In a file that is binary data under a text name (a binary SKILL.md,
reported as `manifest.not-text`), only the two evasion rules are checked line by line.

Limitations:
    Zero-width and homoglyph re-scans work line by line, so a phrase split across lines
    is missed. Hidden elements are matched without an HTML parser: nested tags inside a
    hidden element end its text at the first tag.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator

from pydantic import JsonValue

from scanner.analyzers._markdown import MarkdownDoc
from scanner.analyzers._markdown import Verdict as ContextVerdict
from scanner.analyzers._markup import Channel, hidden_channels
from scanner.analyzers._rules import RuleSet, ScanTarget, default_ruleset
from scanner.analyzers._text import (
    FileType,
    LineIndex,
    escape_invisible,
    file_type,
    make_snippet,
    normalize_newlines,
)
from scanner.analyzers.base import Analyzer
from scanner.analyzers.registry import register
from scanner.core.models import Category, Finding, Severity, SkillFile, SkillPackage
from scanner.intake._content import is_binary_text

TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F
MIN_SPLITS_MEDIUM = 3
PREVIEW_CHARS = 300

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_BLACK_FLAG = "\U0001f3f4"
# A subdivision flag emoji: a black flag, a lower-case region code in tags, a cancel tag.
_FLAG_TAGS = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u17b4\u17b5"
_TYPOGRAPHIC = frozenset("\u2060\u00ad")
_ZW_RUN = re.compile(f"[{_ZERO_WIDTH}]+")
_ZW_EVASION = "Zero-width characters hide trigger words"
_ZW_SPLIT = "Zero-width characters inside words"
_HOMOGLYPH = "Look-alike letters disguise trigger words"
_MIXED = "Words mix Latin and look-alike letters"
_VARIATION_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{4,}")
_INVISIBLE_RUN = re.compile("[\u200b\u200c\u200d\u2060-\u2064\ufeff]{16,}")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u061c]")
_RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_ISOLATES = frozenset("\u2066\u2067\u2068\u2069")
_DOMAIN = re.compile(r"(?<![\w.@-])(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w-])")
_IDENTIFIER = re.compile(r"[^\W\d]\w{0,80}")
_IDENT = "Identifier mixes scripts"
_MARKUP_TYPES = frozenset({FileType.MARKDOWN, FileType.HTML, FileType.TEXT})
_IDENTIFIER_TYPES = frozenset(
    {FileType.PYTHON, FileType.SHELL, FileType.POWERSHELL, FileType.JAVASCRIPT, FileType.CODE}
)
_MIN_HIDDEN_CHARS = 12
_EVASION_RULES = frozenset({"unicode.homoglyph-evasion", "unicode.zero-width-evasion"})
_HiddenHit = tuple[str, Severity, Category]
_MAX_HIDDEN_FINDINGS = 20
_MAX_CONTEXT_CALLS = 40
_STEERING = frozenset({Category.PROMPT_INJECTION, Category.HIDDEN_CONTENT})
_QUOTED = frozenset({ContextVerdict.NEGATED, ContextVerdict.EXAMPLE})
_WORD = re.compile(r"[^\W\d_]+")
_CODE_TYPES = frozenset(
    {FileType.PYTHON, FileType.SHELL, FileType.POWERSHELL, FileType.JAVASCRIPT,
     FileType.CODE, FileType.CONFIG, FileType.REQUIREMENTS, FileType.HTML}
)  # fmt: skip

# A subset of Unicode TR39 confusables: Cyrillic and Greek letters that look Latin.
CONFUSABLES = str.maketrans(
    "аеорсухіјѕһԁԛԝӏүАВЕКМНОРСТХЅІЈҮԀԌԚԜοαειυνρκχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijshdqwlyABEKMHOPCTXSIJYDGQWoaeiuvpkxABEZHIKMNOPTYX",
)
INJECTION_WORDS = frozenset(
    {"ignore", "disregard", "previous", "instructions", "instruction", "system", "prompt",
     "override", "bypass", "forget", "rules", "safety", "admin", "developer", "password",
     "passwords", "token", "tokens", "secret", "secrets", "credentials", "credential",
     "execute", "exec", "eval", "curl", "wget", "bash", "sudo", "upload", "send", "exfiltrate",
     "netrc", "ssh", "env", "conceal", "hide", "reveal", "aws", "apikey", "key", "keys"}
)  # fmt: skip


_SMUGGLING: tuple[tuple[str, re.Pattern[str], Callable[[str], str | None]], ...] = ()


def _finding(
    rule_id: str,
    category: Category,
    severity: Severity,
    title: str,
    description: str,
    item: SkillFile,
    line: int,
    snippet: str,
    metadata: dict[str, JsonValue],
) -> Finding:
    return Finding(
        rule_id=rule_id,
        category=category,
        severity=severity,
        title=title,
        description=description,
        file_path=item.path,
        line_number=line,
        snippet=snippet,
        remediation="Remove the invisible or look-alike characters and review the plain text.",
        analyzer=UnicodeAnalyzer.name,
        metadata=metadata,
    )


@register
class UnicodeAnalyzer(Analyzer):
    """Decode or fold hidden and disguised text, and re-scan it with the signatures."""

    name = "unicode"
    description = "Unicode tag characters, zero-width splits, bidi controls and homoglyphs."

    RULES = (
        "unicode.tag-characters",
        "unicode.variation-selector-smuggling",
        "unicode.invisible-run",
        "unicode.zero-width-evasion",
        "unicode.zero-width-split",
        "unicode.bidi-control",
        "unicode.homoglyph-evasion",
        "unicode.mixed-script",
        "unicode.confusable-domain",
        "unicode.confusable-identifier",
        "hidden.markup-instruction",
    )

    def __init__(self) -> None:
        self._rules: RuleSet = default_ruleset()

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the Unicode findings of every text file."""
        findings: list[Finding] = []
        for item in package.files:
            kind = file_type(item)
            if kind is None or not item.text:
                continue
            text = normalize_newlines(item.text)
            index = LineIndex(text)
            if kind in _MARKUP_TYPES:
                findings += self._markup_findings(item, kind, text, index)
            if text.isascii():
                continue
            findings += self._tag_findings(item, kind, text, index)
            findings += self._smuggled_findings(item, kind, text, index)
            lines = self._line_findings(item, kind, index)
            if is_binary_text(text):
                # NOTE: undecodable bytes decode to letters of every script, so in binary
                # data only a disguise that reveals a signature's words means anything.
                lines = (f for f in lines if f.rule_id in _EVASION_RULES)
            findings += lines
        return findings

    def _tag_findings(
        self, item: SkillFile, kind: FileType, text: str, index: LineIndex
    ) -> Iterator[Finding]:
        # SECURITY: a hostile file repeats short runs thousands of times on one long line;
        # each distinct text is judged once, each line shown once, and past the cap the
        # remaining runs are counted in one finding instead of reported one by one.
        judged: dict[str, list[str]] = {}
        shown_lines: dict[int, str] = {}
        reported = more = last_line = 0
        for run in _TAGS.finditer(text):
            if _is_flag_emoji(text, run):
                continue
            if reported >= _MAX_HIDDEN_FINDINGS:
                more += 1
                continue
            hidden = "".join(
                chr(ord(c) - TAG_FIRST) for c in run.group() if 0xE0020 <= ord(c) <= 0xE007E
            )
            if hidden not in judged:
                judged[hidden] = self._rule_ids(hidden, kind) if hidden.strip() else []
            inner = judged[hidden]
            shown = make_snippet(self._rules.redact(hidden), PREVIEW_CHARS)
            line = index.line_of(run.start())
            reported, last_line = reported + 1, line
            yield _finding(
                "unicode.tag-characters",
                Category.UNICODE_SMUGGLING,
                Severity.CRITICAL if inner else Severity.HIGH,
                "Hidden text in Unicode tag characters",
                f'{len(run.group())} invisible tag characters spell: "{shown}"',
                item,
                line,
                self._shown_line(shown_lines, index, line),
                {"decoded": shown, "count": len(run.group()), "inner_rules": _json_list(inner)},
            )
        if more:
            critical = any(judged.values())
            yield _finding(
                "unicode.tag-characters",
                Category.UNICODE_SMUGGLING,
                Severity.CRITICAL if critical else Severity.HIGH,
                "Hidden text in Unicode tag characters",
                f"{more} more runs of invisible tag characters in this file, not listed one by "
                f"one (the first {_MAX_HIDDEN_FINDINGS} are).",
                item,
                last_line,
                shown_lines[last_line],
                {"runs_not_listed": more},
            )

    def _smuggled_findings(
        self, item: SkillFile, kind: FileType, text: str, index: LineIndex
    ) -> Iterator[Finding]:
        """Report runs of variation selectors or invisible characters that encode data."""
        shown_lines: dict[int, str] = {}
        for rule_id, pattern, decoder in _SMUGGLING:
            reported = more = 0
            last: Finding | None = None
            for run in pattern.finditer(text):
                # SECURITY: as for tag characters, a capped number of runs is listed.
                if reported >= _MAX_HIDDEN_FINDINGS:
                    more += 1
                    continue
                reported += 1
                hidden = decoder(run.group())
                last = self._smuggled(item, kind, index, rule_id, run, hidden, shown_lines)
                yield last
            if more and last is not None:
                yield last.model_copy(
                    update={
                        "description": f"{more} more runs of invisible characters in this "
                        f"file, not listed one by one (the first {_MAX_HIDDEN_FINDINGS} are).",
                        "metadata": {"runs_not_listed": more},
                    }
                )

    def _smuggled(
        self,
        item: SkillFile,
        kind: FileType,
        index: LineIndex,
        rule_id: str,
        run: re.Match[str],
        hidden: str | None,
        shown_lines: dict[int, str],
    ) -> Finding:
        inner = self._rule_ids(hidden, kind) if hidden else []
        severity = Severity.MEDIUM if hidden is None else Severity.HIGH
        shown = make_snippet(self._rules.redact(hidden or ""), PREVIEW_CHARS)
        line = index.line_of(run.start())
        count = len(run.group())
        decoded = f' decode to: "{shown}"' if hidden else " (no readable text decoded)"
        return _finding(
            rule_id,
            Category.UNICODE_SMUGGLING,
            Severity.CRITICAL if inner else severity,
            "Data hidden in invisible characters",
            f"{count} invisible characters in a row{decoded}",
            item,
            line,
            self._shown_line(shown_lines, index, line),
            {"count": count, "decoded": shown, "inner_rules": _json_list(inner)},
        )

    def _line_findings(
        self, item: SkillFile, kind: FileType, index: LineIndex
    ) -> Iterator[Finding]:
        text = index.text
        for number in range(1, index.line_of(len(text)) + 1):
            line = index.line_text(number)
            if line.isascii():
                continue
            yield from self._zero_width(item, kind, line, number)
            yield from self._bidi(item, kind, line, number)
            if any(char in lookalikes() for char in line):
                yield from self._homoglyphs(item, kind, line, number, text)

    def _zero_width(
        self, item: SkillFile, kind: FileType, line: str, number: int
    ) -> Iterator[Finding]:
        splits = _word_splits(line)
        if not splits:
            return
        cleaned = _ZW_RUN.sub("", line)
        new = self._new_rule_ids(line, cleaned, kind)
        shown = self._snippet(cleaned)
        verdict = _zero_width_verdict(splits, new, shown)
        if verdict is None:
            return
        rule, severity, title, description = verdict
        metadata: dict[str, JsonValue] = {"splits": len(splits), "cleaned": shown}
        metadata["inner_rules"] = _json_list(new)
        yield _finding(
            rule,
            Category.UNICODE_SMUGGLING,
            severity,
            title,
            description,
            item,
            number,
            self._snippet(line),
            metadata,
        )

    def _bidi(self, item: SkillFile, kind: FileType, line: str, number: int) -> Iterator[Finding]:
        found = _BIDI.findall(line)
        if not found:
            return
        rtl = bool(_RTL_LETTERS.search(line))
        if kind in _CODE_TYPES and not (rtl and set(found) <= _ISOLATES):
            severity = Severity.HIGH
        elif kind in _CODE_TYPES and kind is not FileType.CONFIG:
            # NOTE: isolates around placeholders in right-to-left text are how localised
            # strings keep numbers and names in order (UAX #9); overrides never are.
            severity = Severity.LOW
        else:
            severity = Severity.INFO if rtl else Severity.MEDIUM
        yield _finding(
            "unicode.bidi-control",
            Category.UNICODE_SMUGGLING,
            severity,
            "Bidirectional control characters",
            f"{len(found)} bidi override or isolate characters make the displayed order "
            "differ from the order the interpreter or the agent reads (Trojan Source).",
            item,
            number,
            self._snippet(line),
            {"codepoints": ", ".join(sorted({f"U+{ord(c):04X}" for c in found}))},
        )

    def _homoglyphs(
        self, item: SkillFile, kind: FileType, line: str, number: int, text: str
    ) -> Iterator[Finding]:
        domains = list(_disguised_domains(line))
        for match, folded in domains:
            yield self._domain_finding(item, number, line, match.group(), folded)
        covered = [match.span() for match, _ in domains]
        words = [
            m
            for m in _WORD.finditer(line)
            if _is_disguised(m.group(), line) and not _inside(m.start(), covered)
        ]
        if not words:
            return
        folded_line = _fold_words(line, words)
        new = self._new_rule_ids(line, folded_line, kind)
        shown = self._snippet(folded_line)
        verdict = _homoglyph_verdict(words, new, shown)
        if verdict is None:
            return
        if verdict[0] == "unicode.mixed-script" and kind in _IDENTIFIER_TYPES:
            verdict = _identifier_verdict(line, text)
        rule, severity, title, description = verdict
        words_text = ", ".join(sorted({fold(m.group()).lower() for m in words}))
        metadata: dict[str, JsonValue] = {"words": words_text, "folded": shown}
        metadata["inner_rules"] = _json_list(new)
        yield _finding(
            rule,
            Category.HOMOGLYPH,
            severity,
            title,
            description,
            item,
            number,
            self._snippet(line),
            metadata,
        )

    def _domain_finding(
        self, item: SkillFile, number: int, line: str, domain: str, folded: str
    ) -> Finding:
        return _finding(
            "unicode.confusable-domain",
            Category.HOMOGLYPH,
            Severity.HIGH,
            "Look-alike letters in a domain name",
            f"`{escape_invisible(domain)}` mixes scripts and reads as `{folded}`: a look-alike "
            "host that takes the agent or the user somewhere other than where they think.",
            item,
            number,
            self._snippet(line),
            {"domain": escape_invisible(domain), "reads_as": folded},
        )

    def _markup_findings(
        self, item: SkillFile, kind: FileType, text: str, index: LineIndex
    ) -> Iterator[Finding]:
        """Report instructions hidden in link titles, alt text, hidden elements or details."""
        if "](" not in text and "<" not in text and "]:" not in text:
            return
        doc = MarkdownDoc(text) if kind is FileType.MARKDOWN else None
        reported = contexts = 0
        judged: dict[str, list[_HiddenHit]] = {}
        for channel in hidden_channels(text):
            if len(channel.text) < _MIN_HIDDEN_CHARS or (doc and doc.in_code(channel.start)):
                continue
            if channel.text not in judged:
                judged[channel.text] = self._hidden_hits(channel.text)
            hits = judged[channel.text]
            severity = _hidden_severity(channel.kind, hits)
            if severity is None or reported >= _MAX_HIDDEN_FINDINGS:
                continue
            # SECURITY: judging context reads the whole enclosing block, which a hostile
            # file makes huge; past a few calls the text is reported rather than excused.
            if doc is not None and contexts < _MAX_CONTEXT_CALLS:
                contexts += 1
                if doc.context(channel.start, channel.start + 1) in _QUOTED:
                    continue
            reported += 1
            yield self._hidden_finding(item, index, channel, severity, hits)

    def _hidden_finding(
        self,
        item: SkillFile,
        index: LineIndex,
        channel: Channel,
        severity: Severity,
        hits: list[_HiddenHit],
    ) -> Finding:
        line = index.line_of(channel.start)
        shown = make_snippet(self._rules.redact(channel.text), PREVIEW_CHARS)
        rules = sorted({rule for rule, _, _ in hits})
        return _finding(
            "hidden.markup-instruction",
            Category.HIDDEN_CONTENT,
            severity,
            "Instruction hidden in markup",
            f"Text in a {channel.kind.replace('-', ' ')}, which the rendered page does "
            f'not show as body text, trips {", ".join(rules)}: "{shown}"',
            item,
            line,
            self._snippet(index.line_text(line)),
            {"channel": channel.kind, "hidden_text": shown, "inner_rules": _json_list(rules)},
        )

    def _hidden_hits(self, text: str) -> list[_HiddenHit]:
        """Return the rules hidden text trips, read both as prose and as a hidden comment."""
        source = f"{text}\n\n<!-- {text} -->\n"
        doc = MarkdownDoc(source)
        hits = self._rules.scan(ScanTarget(source, FileType.MARKDOWN, doc))
        return [
            (hit.rule.id, hit.severity, hit.rule.spec.category)
            for hit in hits
            if hit.severity.rank >= Severity.MEDIUM.rank
        ]

    def _rule_ids(self, text: str, kind: FileType) -> list[str]:
        """Return the ids of rules that report `text` at MEDIUM or above."""
        text = normalize_newlines(text)
        scan_kind = FileType.MARKDOWN if kind in (FileType.MARKDOWN, FileType.TEXT) else kind
        doc = MarkdownDoc(text) if scan_kind is FileType.MARKDOWN else None
        hits = self._rules.scan(ScanTarget(text, scan_kind, doc))
        return sorted({hit.rule.id for hit in hits if hit.severity.rank >= Severity.MEDIUM.rank})

    def _new_rule_ids(self, before: str, after: str, kind: FileType) -> list[str]:
        if before == after:
            return []
        seen = set(self._rule_ids(before, kind))
        return [rule for rule in self._rule_ids(after, kind) if rule not in seen]

    def _snippet(self, text: str) -> str:
        return make_snippet(self._rules.redact(text))

    def _shown_line(self, cache: dict[int, str], index: LineIndex, line: int) -> str:
        """Return a line as evidence (tag runs named, secrets masked), made once per line."""
        if line not in cache:
            cache[line] = self._snippet(_TAGS.sub(_hidden_marker, index.line_text(line)))
        return cache[line]


def decode_variation_selectors(run: str) -> str | None:
    """Decode bytes carried by variation selectors (VS1-16 = 0-15, VS17-256 = 16-255)."""
    data = bytes(ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in run)
    return _readable(data)


def decode_invisible_bits(run: str) -> str | None:
    """Decode a run of two alternating invisible characters as bits, either polarity."""
    symbols = sorted(set(run))
    if len(symbols) != 2 or len(run) < 16:
        return None
    for zero in symbols:
        bits = "".join("0" if char == zero else "1" for char in run)
        data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
        text = _readable(data)
        if text is not None:
            return text
    return None


def _readable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for char in text if char.isprintable() or char in "\n\t")
    return text if len(text) >= 4 and printable >= 0.9 * len(text) else None


Verdict = tuple[str, Severity, str, str]


def _zero_width_verdict(splits: list[str], new: list[str], shown: str) -> Verdict | None:
    """Return (rule, severity, title, description) for zero-width splits, if reportable."""
    if new:
        description = (
            f"{len(splits)} zero-width characters split words; without them the line "
            f'matches {", ".join(new)}: "{shown}"'
        )
        return "unicode.zero-width-evasion", Severity.HIGH, _ZW_EVASION, description
    counted = sum(1 for run in splits if not set(run) <= _TYPOGRAPHIC)
    if not counted:
        return None
    severity = Severity.MEDIUM if counted >= MIN_SPLITS_MEDIUM else Severity.LOW
    description = (
        f"{counted} zero-width characters sit inside ASCII words, where they only serve to "
        "defeat keyword search."
    )
    return "unicode.zero-width-split", severity, _ZW_SPLIT, description


def _homoglyph_verdict(words: list[re.Match[str]], new: list[str], shown: str) -> Verdict | None:
    """Return (rule, severity, title, description) for disguised words, if reportable."""
    folded = sorted({fold(m.group()).lower() for m in words})
    if new or INJECTION_WORDS.intersection(folded):
        description = f'Look-alike Cyrillic/Greek letters; the words read: "{shown}"'
        return "unicode.homoglyph-evasion", Severity.HIGH, _HOMOGLYPH, description
    if any(_mixes_latin(m.group()) for m in words):
        description = f"Words mix Latin with look-alike letters: {', '.join(folded)}."
        return "unicode.mixed-script", Severity.MEDIUM, _MIXED, description
    return None


def _is_flag_emoji(text: str, run: re.Match[str]) -> bool:
    """Return True for the tags of a flag such as England's (black flag, `gbeng`, cancel)."""
    # SECURITY: the whole run must be one short region code; tags after it are reported.
    start = run.start()
    return start > 0 and text[start - 1] == _BLACK_FLAG and bool(_FLAG_TAGS.fullmatch(run.group()))


def _hidden_severity(kind: str, hits: list[_HiddenHit]) -> Severity | None:
    """Return the severity of hidden text, or None when it trips nothing."""
    if not hits:
        return None
    if kind != "details":
        return Severity.HIGH
    # NOTE: a <details> body is one click away; it is high only for instructions to the agent.
    steering = any(cat in _STEERING and sev.rank >= Severity.HIGH.rank for _, sev, cat in hits)
    return Severity.HIGH if steering else Severity.MEDIUM


def _identifier_verdict(line: str, text: str) -> Verdict:
    """Judge a mixed-script identifier in code: high when it shadows an ASCII name."""
    names = [m.group() for m in _IDENTIFIER.finditer(line) if _mixes_latin(m.group())]
    folded = sorted({fold(name) for name in names})
    shadowed = [name for name in folded if name.isascii() and re.search(rf"\b{name}\b", text)]
    shown = ", ".join(shadowed or folded)
    if shadowed:
        description = (
            f"Identifiers mix Latin with look-alike letters and read exactly as other names "
            f"in the file ({shown}): two different variables that look the same."
        )
        return "unicode.confusable-identifier", Severity.HIGH, _IDENT, description
    description = f"Identifiers mix Latin with look-alike letters: {shown}."
    return "unicode.confusable-identifier", Severity.MEDIUM, _IDENT, description


def _disguised_domains(line: str) -> Iterator[tuple[re.Match[str], str]]:
    """Yield host names whose labels mix Latin with look-alikes, or fold wholly to ASCII."""
    for match in _DOMAIN.finditer(line):
        host = match.group()
        if host.isascii():
            continue
        labels = host.split(".")
        folded = [fold(label) for label in labels]
        mixed = any(_mixes_latin(label) for label in labels)
        disguised = all(f.isascii() for f in folded) and any(label.isascii() for label in labels)
        if (mixed or disguised) and all(f.isascii() for f in folded):
            yield match, ".".join(folded).lower()


def _inside(offset: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in spans)


def _hidden_marker(run: re.Match[str]) -> str:
    return f"[{len(run.group())} hidden tag characters]"


def _fold_words(line: str, words: list[re.Match[str]]) -> str:
    """Return the line with each disguised word replaced by its ASCII folding."""
    for match in words:
        start, end = match.span()
        line = line[:start] + fold(match.group()) + line[end:]
    return line


def _json_list(items: list[str]) -> list[JsonValue]:
    return list(items)


@functools.cache
def lookalikes() -> dict[str, str]:
    """Return every letter of another script that looks like an ASCII letter, and that letter.

    The hand-picked table below, extended with the Unicode TR39 confusables of the
    `confusable-homoglyphs` package (loaded on first use in each worker). Latin letters
    with diacritics are left out: Turkish, Vietnamese or German words mix them legitimately.
    """
    from confusable_homoglyphs import categories, confusables

    table = {chr(key): chr(value) for key, value in CONFUSABLES.items()}
    for char, entries in confusables.confusables_data.items():
        if len(char) != 1 or char in table or not unicodedata.category(char).startswith("L"):
            continue
        if categories.alias(char) in ("LATIN", "COMMON"):
            continue
        ascii_forms = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii()]
        letters = [form for form in ascii_forms if form.isalpha()]
        if letters:
            table[char] = letters[0]
    return table


@functools.cache
def _fold_table() -> dict[int, str]:
    return str.maketrans(lookalikes())


def fold(word: str) -> str:
    """Return `word` with look-alike and styled letters replaced by their ASCII form."""
    folded = word.translate(_fold_table())
    if folded.isascii():
        return folded
    normal = unicodedata.normalize("NFKC", folded)
    return normal if normal.isascii() and len(normal) == len(word) else folded


def _mixes_latin(word: str) -> bool:
    has_latin = any("a" <= c.lower() <= "z" for c in word)
    table = lookalikes()
    return has_latin and any(c in table for c in word)


def _is_disguised(word: str, line: str) -> bool:
    """Return True for a word whose non-ASCII letters are all look-alikes of Latin ones."""
    if word.isascii():
        return False
    others = [c for c in word if not c.isascii()]
    table = lookalikes()
    if all(c in table for c in others):
        if _mixes_latin(word):
            return True
        return len(word) >= 3 and fold(word).lower() in INJECTION_WORDS and _mostly_latin(line)
    styled = unicodedata.normalize("NFKC", word)
    return styled.isascii() and styled != word


def _mostly_latin(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    ascii_letters = sum(1 for c in letters if c.isascii())
    return bool(letters) and ascii_letters >= 0.6 * len(letters)


def _word_splits(line: str) -> list[str]:
    """Return the zero-width runs that sit between two ASCII letters."""
    runs = []
    for match in _ZW_RUN.finditer(line):
        start, end = match.span()
        before = line[start - 1] if start > 0 else ""
        after = line[end] if end < len(line) else ""
        if before.isascii() and before.isalpha() and after.isascii() and after.isalpha():
            runs.append(match.group())
    return runs


_SMUGGLING = (
    ("unicode.variation-selector-smuggling", _VARIATION_RUN, decode_variation_selectors),
    ("unicode.invisible-run", _INVISIBLE_RUN, decode_invisible_bits),
)
