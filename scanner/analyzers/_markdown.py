"""Markdown structure for the analyzers: regions, blocks, sections and the context of a hit.

A `MarkdownDoc` splits a document into regions (`code`: fenced and indented blocks and
inline code spans; `comment`: HTML comments outside code; `prose`: the rest) and keeps a
masked copy of the text per set of regions, with everything else replaced by spaces, so
that offsets and line numbers stay those of the file. It also splits the prose into
blocks (paragraphs, list items, quotes, table rows) under their section heading, which
is what `MarkdownDoc.context` reads to tell an instruction from a quoted example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_QUOTE = re.compile(r"^\s*>")
_TABLE_ROW = re.compile(r"^\s*\|")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_INLINE_START = re.compile(r"`+|<!--")
_BLANK_GAP = re.compile(r"\n[ \t]*\n")
_NOT_NEWLINE = re.compile(r"[^\n]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”)*_]*\s+(?=[\"'“(*_`]*[A-Z0-9])")
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”]{1,300}”|`[^`]{1,300}`")

# NOTE: cues are read with quoted text and code spans removed, so a quoted phrase such
# as "do not tell the user" in a list of examples never counts as a cue.
_ESCALATORS = re.compile(
    r"\bwithout\s+(?:first\s+)?(?:asking|confirm\w*|permission|prompting|approval|consent"
    r"|telling|informing|notifying|review\w*|checking\s+with)"
    r"|\b(?:do\s+not|don'?t|never|no\s+need\s+to)\s+(?:ask|tell|inform|notify|mention|confirm"
    r"|wait\s+for|show|reveal|prompt|bother|check\s+with)"
    r"|\b(?:silently|quietly|secretly|covertly|discreetly)\b"
    r"|\bin\s+the\s+background\b"
    r"|\bbefore\s+(?:first\s+use|anything\s+else|you\s+(?:respond|reply|answer))"
    r"|\bbefore\s+(?:producing|giving|writing|showing)\s+(?:any\s+|your\s+)?(?:output|answer|reply|response)"
    r"|\b(?:do\s+not|don'?t|never)\s+(?:paste|print|echo|repeat|display|quote|include)\s+(?:\w+\s+){0,3}?"
    r"(?:in|into)\s+(?:the\s+|your\s+)?(?:conversation|chat|reply|response|answer|transcript)"
    r"|\b(?:always|must|mandatory|required\s+to)\s+(?:run|execute|install)\b"
    r"|\bauto(?:matically)?[- ](?:run|execute|approve)",
    re.IGNORECASE,
)
_NEGATIONS = re.compile(
    r"\b(?:never|do\s+not|don'?t|must\s+not|should\s+not|shouldn'?t|cannot|can'?t|won'?t"
    r"|we\s+do\s+not|refuse\s+to)\s+(?:\w+,?\s+(?:or\s+|and\s+)?){0,3}?(?:run|execute|pipe|paste|type|use|follow"
    r"|obey|do|install|download|delete|remove|send|upload|post|copy|share|add|write|edit"
    r"|modify|put|store|commit|act|trust|click|open|include|read|touch|call|eval)"
    r"|\bnot\s+even\b|\binstead\s+of\b|\banti-?pattern"
    # NOTE: "To avoid interruptions, add ..." states a purpose; "try to avoid" negates.
    r"|(?<![Tt]o )\bavoid(?:s|ing)?\b|\b(?:try|trying|tries|should|must|please)\s+to\s+avoid\b"
    r"|\b(?:is|are|looks?)\s+(?:dangerous|unsafe|malicious|suspicious|insecure|risky)"
    r"|\b(?:red\s+flags?|warning\s+signs?|attackers?|malware|do\s+not\s+follow|treat\s+as\s+data)\b"
    r"|\bexamples?\s+of\s+(?:what|attacks?|malicious|injection)",
    re.IGNORECASE,
)
# A hit whose own first words are the negated verbs ("Never print, copy or upload ~/.ssh/...").
_NEGATION_LEAD = re.compile(
    r"\b(?:never|do\s+not|don'?t|must\s+not|should\s+not|shouldn'?t|cannot|can'?t)\s+"
    r"(?:\w+,?\s+(?:or\s+|and\s+)?){0,3}$",
    re.IGNORECASE,
)
# Headings that present what follows as things not to do, or to look for.
_EXAMPLE_HEADING = re.compile(
    r"\b(?:indicators?|look\s+(?:out\s+)?for|watch\s+for|check\s+for|what\s+to\s+(?:flag|report)"
    r"|do\s+not\s+(?:follow|run|use|do)|don'?ts?|never|avoid|bad|pitfalls|mistakes|forbidden"
    r"|prohibited|not\s+allowed|test\s+cases?|red\s+team\w*|threat\s+model\w*|warning\s+signs?)\b",
    re.IGNORECASE,
)
# Prose that tells the reader to run the document's own code blocks: a section framed
# as examples to avoid is then no longer read as mere examples.
_RUNS_OWN_BLOCKS = re.compile(
    r"\b(?:run|runs|running|execute|executes|executing|paste|apply)\s+(?:\w+\s+){0,4}?"
    r"(?:code\s+blocks?|fenced\s+blocks?|snippets?\s+(?:above|below|in\s+th(?:is|e)\s+\w+))\b",
    re.IGNORECASE,
)
# Words of security education: a quoted or fenced hit framed by them is an example.
_EDUCATION = re.compile(
    r"\b(?:malicious|attack(?:s|er|ers)?|injections?|jailbreaks?|suspicious|phishing|payloads?"
    r"|exploits?|adversarial|red\s+flags?|detect\w*|recogni[sz]\w*|warning\s+signs?|threats?"
    r"|dangerous|unsafe|insecure|vulnerab\w*|anti-?patterns?|bad\s+(?:example|practice)s?"
    r"|examples?\s+of|manipulat\w*|social\s+engineering|scams?"
    r"|arbitrary\s+(?:code|commands?)|remote\s+code\s+execution|RCE|exfiltrat\w*"
    r"|privilege\s+escalation)\b",
    re.IGNORECASE,
)
# Third-person description of what an attack does ("Attempts to override ...", "text
# hidden to bypass ..."): under a heading framed as security education it describes the
# hit rather than asks for it.
_DESCRIBED_ATTEMPT = re.compile(
    r"\b(?:attempts|tries|attempting|trying)\s+to\b"
    r"|\b(?:instructions?|requests?|prompts?|steps?)\s+to\s+(?!you\b)|\bexists?\s+to\b"
    r"|\b(?:instructions?|text|prompts?|skills?|content|messages?|payloads?|comments?)\s+that\s+"
    r"(?:ask|tell|instruct|direct|make|get|trick)s?\s+(?:the\s+|an?\s+)?(?:agent|model|assistant|ai|llm)s?\s+"
    r"(?:to|into)\b"
    r"|\b(?:is|are|was|were|being|gets?)\s+(?:\w+\s+)?(?:hidden|used|designed|crafted|written"
    r"|meant|embedded|injected|planted|smuggled|disguised)\s+(?:\w+\s+)?to\b",
    re.IGNORECASE,
)
# A comment in a code block that labels the lines under it as the wrong way
# (`# Bad: string form`, `// ❌ vulnerable`): what follows is shown, not asked for.
_BAD_LABEL = re.compile(
    r"^[ \t]*(?:#|//|--|/\*|<!--)[^\n]{0,20}?(?:\b(?:bad|wrong|vulnerable|insecure|unsafe"
    r"|dangerous|don'?t|anti-?pattern|red\s+flag|malicious|never\s+run|do\s+not\s+run)\b|❌|✗)",
    re.IGNORECASE,
)
# A list item that begins with an instruction to act ("- Run ...", "2. Send ...").
_IMPERATIVE_ITEM = re.compile(
    r"^\s*(?:[-*+]|\d+[.)])\s+(?:\*\*)?(?:run|execute|send|upload|post|copy|read|cat|open|fetch"
    r"|download|install|add|write|append|paste|call|use|put|save|print|include|attach|then)\b",
    re.IGNORECASE,
)
_CODE_COMMENT = re.compile(r"^[ \t]*(?:#|//|--|/\*|<!--)")
_EMPHASIS = re.compile(r"[*_~]+")
_WRAPPED = frozenset({"para", "item", "quote"})
# A line of words (no shell symbols) broken before another word: wrapped prose.
_WORD_WRAP = re.compile(r"(?m)^([ \t>]*[^\n$|>=;{}<]{0,2000}[\w,:])\n(?=[ \t>]*[\w`(\[\"'*_])")


class Region(StrEnum):
    """Parts of a Markdown document a rule can target."""

    CODE = "code"
    PROSE = "prose"
    COMMENT = "comment"
    ANY = "any"


class Verdict(StrEnum):
    """What the surroundings of a hit say about it."""

    PLAIN = "plain"
    ESCALATED = "escalated"
    NEGATED = "negated"
    EXAMPLE = "example"


@dataclass(frozen=True)
class Block:
    """A unit of Markdown: a paragraph, list item, quote, table row, heading or code block."""

    start: int
    end: int
    kind: str
    section: int
    lead_in: int | None = None


@dataclass(frozen=True)
class Section:
    """The text under one heading, up to the next heading."""

    title: str
    start: int
    end: int
    level: int = 1


@dataclass
class _Builder:
    """Parser state carried from line to line."""

    open_block: tuple[int, str] | None = None
    last_line_kind: str = ""
    last_block_kind: str = ""


class MarkdownDoc:
    """A parsed Markdown document; offsets are those of the text it was built from."""

    def __init__(self, text: str, *, skip: tuple[int, int] = (0, 0)) -> None:
        """Parse `text`; the characters of the `skip` span (frontmatter) are ignored."""
        self.text = text
        self._skip = skip
        self.blocks: list[Block] = []
        self.sections: list[Section] = []
        self._code: list[tuple[int, int]] = []
        self._comments: list[tuple[int, int]] = []
        self._parse_lines()
        self._parse_inline()
        self._block_starts = [block.start for block in self.blocks]
        self._masks: dict[frozenset[Region], str] = {}
        self._runs_own_blocks: bool | None = None

    def runs_own_blocks(self) -> bool:
        """Return True when the prose tells the reader to run the document's code blocks."""
        if self._runs_own_blocks is None:
            prose = self.mask(frozenset({Region.PROSE}))
            self._runs_own_blocks = bool(_RUNS_OWN_BLOCKS.search(prose))
        return self._runs_own_blocks

    def mask(self, regions: frozenset[Region]) -> str:
        """Return the text with everything outside `regions` replaced by spaces."""
        cached = self._masks.get(regions)
        if cached is None:
            cached = self._build_mask(regions)
            self._masks[regions] = cached
        return cached

    def _build_mask(self, regions: frozenset[Region]) -> str:
        blank = [self._skip]
        if Region.ANY in regions:
            return self._unwrap(_blank_out(self.text, blank))
        code, comments = self._code, self._comments
        if Region.PROSE in regions:
            drop = [*blank, *([] if Region.CODE in regions else code)]
            drop += [] if Region.COMMENT in regions else comments
            return self._unwrap(_blank_out(self.text, drop))
        keep = [*(code if Region.CODE in regions else [])]
        keep += comments if Region.COMMENT in regions else []
        return _keep_only(self.text, keep, self._skip)

    def _unwrap(self, text: str) -> str:
        """Return `text` with the word-wrap line breaks of paragraphs, items and quotes as spaces.

        Prose is wrapped at any word: a rule reads a sentence whole, whatever its line
        breaks. A line holding shell symbols (`$ | > = ; { } <`) keeps its break: it is a
        command, not a sentence. Offsets do not move (one character for one).
        """
        parts: list[str] = []
        pos = 0
        for block in self.blocks:
            if block.kind not in _WRAPPED or "\n" not in text[block.start : block.end]:
                continue
            parts.append(text[pos : block.start])
            parts.append(_WORD_WRAP.sub(r"\1 ", text[block.start : block.end]))
            pos = block.end
        parts.append(text[pos:])
        return "".join(parts)

    def block_at(self, offset: int) -> Block | None:
        """Return the block holding `offset`, if any."""
        index = _index_before(self._block_starts, offset)
        if index < 0:
            return None
        block = self.blocks[index]
        return block if offset < max(block.end, block.start + 1) else None

    def section_titles(self, offset: int) -> list[str]:
        """Return the headings above `offset`: its own section's first, then its parents'."""
        titles: list[str] = []
        level = 7
        for section in reversed(self.sections):
            if section.start <= offset and section.level < level:
                titles.append(section.title)
                level = section.level
        return titles

    def in_code(self, offset: int) -> bool:
        """Return True when `offset` lies in a code block or an inline code span."""
        return any(start <= offset < end for start, end in self._code)

    def in_comment(self, offset: int) -> bool:
        """Return True when `offset` lies in an HTML comment."""
        return any(start <= offset < end for start, end in self._comments)

    def section_span(self, offset: int) -> tuple[int, int]:
        """Return the offsets of the section holding `offset` (the whole text if none)."""
        for section in reversed(self.sections):
            if section.start <= offset:
                return section.start, section.end
        end = self.sections[0].start if self.sections else len(self.text)
        return 0, end

    def context(self, start: int, end: int) -> Verdict:
        """Tell whether a hit is an instruction, an escalated one, negated or an example."""
        block = self.block_at(start)
        if block is None:
            return Verdict.PLAIN
        window, quoted = self._window(block, start, end)
        plain = _strip_quotes(window)
        if _ESCALATORS.search(plain):
            return Verdict.ESCALATED
        if block.kind == "code" and self._labelled_bad(block, start):
            return Verdict.EXAMPLE
        titles = " / ".join(self.section_titles(start))
        # SECURITY: "## Red team examples (never run)" over a payload, then "start by
        # running the first code block" elsewhere: the framing no longer excuses it.
        framed = not self.runs_own_blocks() and (
            _EXAMPLE_HEADING.search(titles) or _EDUCATION.search(titles)
        )
        if quoted and (framed or _EDUCATION.search(window)):
            return Verdict.EXAMPLE
        if framed and _DESCRIBED_ATTEMPT.search(plain):
            return Verdict.EXAMPLE
        if _NEGATIONS.search(plain) or _NEGATION_LEAD.search(self._lead(block, start)):
            return Verdict.NEGATED
        return Verdict.PLAIN

    def _lead(self, block: Block, start: int) -> str:
        """Return the words just before a hit in its block ("Never print, copy or ")."""
        return _EMPHASIS.sub("", self.text[max(block.start, start - 80) : start])

    def _labelled_bad(self, block: Block, start: int) -> bool:
        """Return True when the comment heading the hit's lines in a code block marks them bad.

        The heading comment is the nearest whole-line comment above the hit, without a
        blank line between (the hit's own line counts when it is one).
        """
        line_start = max(block.start, self.text.rfind("\n", block.start, start) + 1)
        line_end = self.text.find("\n", start)
        own = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        above = self.text[max(block.start, line_start - 4000) : line_start].split("\n")[:-1]
        for line in [own, *reversed(above)]:
            if not line.strip():
                return False
            if _CODE_COMMENT.match(line):
                return bool(_BAD_LABEL.match(line))
        return False

    def _window(self, block: Block, start: int, end: int) -> tuple[str, bool]:
        """Return the text that frames a hit, and whether the hit is quoted or code."""
        if block.kind == "code":
            lead = self.blocks[block.lead_in] if block.lead_in is not None else None
            text = self.text[lead.start : lead.end] if lead is not None else ""
            return _EMPHASIS.sub("", text), True
        text = self.text[block.start : block.end]
        rel_start, rel_end = start - block.start, min(end, block.end) - block.start
        quoted = block.kind == "quote" or self.in_code(start) or _inside_quotes(text, rel_start)
        # NOTE: the hit itself is blanked, so "do not tell the user" is not its own cue.
        text = text[:rel_start] + " " * (rel_end - rel_start) + text[rel_end:]
        window = _sentences_around(text, rel_start, rel_end)
        item = text[:rel_start]
        if block.kind == "quote" or (block.kind == "item" and not _IMPERATIVE_ITEM.match(item)):
            # NOTE: a quotation or a list of names is framed by the paragraph that
            # introduces it, as a code block is ("Typical phrasing attackers use:"); an
            # item that tells the reader to act is framed by its own words.
            window = self._quote_lead_in(block) + "\n" + window
        return _EMPHASIS.sub("", window), quoted

    def _quote_lead_in(self, block: Block) -> str:
        """Return the paragraph just above a quotation or list in the same section, or ''."""
        index = next((i for i, item in enumerate(self.blocks) if item is block), 0)
        lead = _lead_in(self.blocks, self.text, block.start, upto=index, skip=block.kind)
        above = self.blocks[lead] if lead is not None else None
        return (
            self.text[above.start : above.end] if above and above.kind in ("para", "item") else ""
        )

    def _parse_lines(self) -> None:
        builder = _Builder()
        fence: tuple[str, int, int] | None = None
        offset = 0
        for line in self.text.split("\n"):
            line_end = offset + len(line)
            if self._skip[0] <= offset < self._skip[1]:
                offset = line_end + 1
                continue
            fence = self._step(builder, line, offset, line_end, fence)
            offset = line_end + 1
        # NOTE: a block ends before the newline that follows it; the last line may lack one.
        self._close(builder, len(self.text) + (not self.text.endswith("\n")))
        if fence is not None:
            self._add_code(builder, fence[2], len(self.text))
        self._finish_sections()

    def _step(
        self,
        builder: _Builder,
        line: str,
        offset: int,
        line_end: int,
        fence: tuple[str, int, int] | None,
    ) -> tuple[str, int, int] | None:
        """Consume one line; return the open fence (char, length, start) if any."""
        match = _FENCE.match(line)
        if fence is not None:
            if match is not None and _closes(match, line, fence):
                self._add_code(builder, fence[2], line_end)
                return None
            return fence
        if match is not None:
            self._close(builder, offset)
            return match.group(1)[0], len(match.group(1)), offset
        self._prose_line(builder, line, offset, line_end)
        return None

    def _prose_line(self, builder: _Builder, line: str, offset: int, line_end: int) -> None:
        if not line.strip():
            self._close(builder, offset)
            builder.last_line_kind = "blank"
            return
        heading = _HEADING.match(line)
        if heading is not None:
            self._close(builder, offset)
            level = len(heading.group(1))
            self.sections.append(Section(heading.group(2), offset, len(self.text), level))
            self._add_block(builder, Block(offset, line_end, "heading", len(self.sections) - 1))
            return
        starts_code = builder.open_block is None and builder.last_line_kind in ("blank", "code")
        if starts_code and _INDENTED.match(line) and builder.last_block_kind != "item":
            self._add_code(builder, offset, line_end)
            return
        kind = _line_kind(line)
        if kind != "para" or builder.open_block is None:
            self._close(builder, offset)
            builder.open_block = (offset, kind)
        builder.last_line_kind = kind

    def _close(self, builder: _Builder, end: int) -> None:
        if builder.open_block is None:
            return
        start, kind = builder.open_block
        builder.open_block = None
        self._add_block(builder, Block(start, max(start, end - 1), kind, len(self.sections) - 1))

    def _add_block(self, builder: _Builder, block: Block) -> None:
        self.blocks.append(block)
        builder.last_block_kind = block.kind

    def _add_code(self, builder: _Builder, start: int, end: int) -> None:
        self._close(builder, start)
        last = self.blocks[-1] if self.blocks else None
        if last is not None and last.kind == "code" and not self.text[last.end : start].strip():
            # NOTE: consecutive indented lines form one code block.
            self.blocks[-1] = Block(last.start, end, "code", last.section, last.lead_in)
            self._code[-1] = (last.start, end)
            builder.last_line_kind = "code"
            return
        lead = _lead_in(self.blocks, self.text, start)
        self.blocks.append(Block(start, end, "code", len(self.sections) - 1, lead))
        self._code.append((start, end))
        builder.last_line_kind = "code"

    def _finish_sections(self) -> None:
        for index, section in enumerate(self.sections[:-1]):
            following = self.sections[index + 1]
            self.sections[index] = Section(
                section.title, section.start, following.start, section.level
            )

    def _parse_inline(self) -> None:
        """Find inline code spans and HTML comments in the prose, in document order."""
        prose = _blank_out(self.text, [self._skip, *self._code])
        spans: list[tuple[int, int]] = []
        pos = 0
        while True:
            match = _INLINE_START.search(prose, pos)
            if match is None:
                break
            if match.group() == "<!--":
                close = prose.find("-->", match.end())
                pos = len(prose) if close < 0 else close + 3
                self._comments.append((match.start(), pos))
                continue
            span_end = _code_span_end(prose, match)
            if span_end is None:
                pos = match.end()
                continue
            spans.append((match.end(), span_end - len(match.group())))
            pos = span_end
        self._code.extend(spans)
        self._code.sort()


def _closes(match: re.Match[str], line: str, fence: tuple[str, int, int]) -> bool:
    """Return True when a fence line closes the open fence (same char, long enough)."""
    ticks = match.group(1)
    return ticks[0] == fence[0] and len(ticks) >= fence[1] and not line[match.end() :].strip()


def _line_kind(line: str) -> str:
    if _LIST_ITEM.match(line):
        return "item"
    if _QUOTE.match(line):
        return "quote"
    if _TABLE_ROW.match(line):
        return "row"
    return "para"


def _lead_in(
    blocks: list[Block],
    text: str,
    start: int,
    *,
    upto: int | None = None,
    skip: str | None = None,
) -> int | None:
    """Return the index of the prose block that introduces the block at `start`, if close by.

    Only `blocks[:upto]` are looked at; blocks of kind `skip` (the other lines of the same
    quotation or list) are passed over, the gap measured from the first of them.
    """
    for index in range(len(blocks) if upto is None else upto, 0, -1):
        block = blocks[index - 1]
        if block.kind == skip:
            start = block.start
            continue
        if block.kind in ("code", "heading"):
            return None
        gap = text[block.end : start]
        return index - 1 if gap.count("\n") <= 3 else None
    return None


def _code_span_end(text: str, opener: re.Match[str]) -> int | None:
    """Return the end offset of the code span opened by a backtick run, or None."""
    ticks = opener.group()
    limit_match = _BLANK_GAP.search(text, opener.end())
    limit = limit_match.start() if limit_match else len(text)
    pattern = re.compile(r"(?<!`)" + ticks + r"(?!`)")
    close = pattern.search(text, opener.end(), limit)
    return close.end() if close is not None else None


def _blank_out(text: str, spans: list[tuple[int, int]]) -> str:
    """Return `text` with each span's characters (but not newlines) replaced by spaces."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        if end <= start:
            continue
        parts.append(text[pos:start])
        parts.append(_NOT_NEWLINE.sub(" ", text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _keep_only(text: str, spans: list[tuple[int, int]], skip: tuple[int, int]) -> str:
    """Return `text` with everything outside the spans (and inside `skip`) blanked."""
    kept = _blank_out(text, [skip]) if skip[1] > skip[0] else text
    parts: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        if end <= start:
            continue
        parts.append(_NOT_NEWLINE.sub(" ", kept[pos:start]))
        parts.append(kept[start:end])
        pos = end
    parts.append(_NOT_NEWLINE.sub(" ", kept[pos:]))
    return "".join(parts)


def _index_before(starts: list[int], offset: int) -> int:
    low, high = 0, len(starts)
    while low < high:
        mid = (low + high) // 2
        if starts[mid] <= offset:
            low = mid + 1
        else:
            high = mid
    return low - 1


def _inside_quotes(text: str, offset: int) -> bool:
    return any(m.start() <= offset < m.end() for m in _QUOTED.finditer(text))


def _strip_quotes(text: str) -> str:
    return _QUOTED.sub(" ", text)


def _sentences_around(text: str, start: int, end: int) -> str:
    """Return the sentence holding the hit and the sentence after it."""
    bounds = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]
    index = max(i for i, bound in enumerate(bounds[:-1]) if bound <= start)
    last = min(len(bounds) - 1, index + 2)
    while last < len(bounds) - 1 and bounds[last] < end:
        last += 1
    return text[bounds[index] : bounds[last]]
