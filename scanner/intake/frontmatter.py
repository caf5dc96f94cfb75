r"""Split SKILL.md into YAML frontmatter and Markdown body, keeping every problem as data.

Nothing here raises for a bad SKILL.md: each problem becomes a `ManifestIssue` and
the text is still returned, so the analyzers scan it and the policy decides.

Issue codes:
    encoding: the file is not valid UTF-8 (decoded with replacement or as UTF-16/32).
    missing: no frontmatter block (also for an empty file).
    not_at_start: blank lines or HTML comments come before the opening ``---``.
    unterminated: an opening ``---`` without a closing ``---`` or ``...``; the whole
        file is then the body.
    too_large: the block is over `MAX_FRONTMATTER_CHARS`; YAML is not parsed.
    yaml_error, too_deep: the YAML cannot be read (with its line when known).
    yaml_fallback: after one of the three above, top-level ``key: value`` lines were
        read one by one; the message names the keys found that way.
    yaml_lenient: instead of the two above, when the YAML failed only because a plain
        value holds ``: `` and every line is a one-line ``key: value``.
    yaml_alias: aliases were kept as ``*anchor`` text instead of being expanded.
    duplicate_key: a key appears twice; `Manifest.duplicates` holds every value.
    not_a_mapping: the YAML is a list or a scalar.
    not_text: the file is binary data (`is_binary_text`); no frontmatter is looked for,
        and this is the only issue reported.

Line numbers count ``\n``, ``\r\n`` and a lone ``\r`` as line ends, and
`Manifest.body` uses ``\n`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import JsonValue

from scanner.core.models import Manifest, ManifestIssue
from scanner.intake._content import LOSSY_SUFFIX, decode_text, is_binary_text
from scanner.intake._yaml import load_mapping

MAX_FRONTMATTER_CHARS = 64 * 1024
# Issue codes that make the frontmatter invalid (every code but `duplicate_key`).
BROKEN_CODES = frozenset(
    {"encoding", "missing", "not_at_start", "unterminated", "too_large", "yaml_error",
     "too_deep", "yaml_fallback", "yaml_alias", "not_a_mapping"}
)  # fmt: skip
# A skill name as agents expect it: lower-case letters, digits and hyphens, 1-64 characters.
SKILL_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_UTF8 = ("utf-8", "utf-8-sig")
_FALLBACK_KEY = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*))?")
_BLOCK_INDICATORS = frozenset({"", "|", ">", "|-", ">-", "|+", ">+"})
_QUOTES = ("'", '"')


@dataclass
class _Block:
    opening: int | None = None
    closing: int | None = None
    issues: list[ManifestIssue] = field(default_factory=list)


@dataclass
class _Parsed:
    data: dict[str, JsonValue] = field(default_factory=dict)
    duplicates: dict[str, list[JsonValue]] = field(default_factory=dict)
    issues: list[ManifestIssue] = field(default_factory=list)


def parse_skill_md(raw: bytes) -> tuple[Manifest, str]:
    """Decode and parse SKILL.md bytes.

    Returns:
        The manifest, and the encoding used to decode it (``utf-8``, ``utf-8-sig``,
        ``utf-16``, ``utf-32``, each with ``-lossy`` appended when bytes were replaced).
    """
    decoded = decode_text(raw)
    return parse_manifest(decoded.text, encoding=decoded.encoding), decoded.encoding


def parse_manifest(text: str, *, encoding: str = "utf-8") -> Manifest:
    """Parse SKILL.md text already decoded with `encoding`."""
    if is_binary_text(text):
        message = "SKILL.md is binary data, not text; no frontmatter was looked for"
        body = text.replace("\r\n", "\n").replace("\r", "\n")
        return Manifest(issues=(ManifestIssue(code="not_text", message=message),), body=body)
    issues: list[ManifestIssue] = []
    if encoding not in _UTF8:
        issues.append(ManifestIssue(code="encoding", message=_encoding_message(encoding)))
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    block = _find_block(lines)
    issues += block.issues
    if block.opening is None or block.closing is None:
        opening = 1 if block.opening is None else block.opening + 1
        body = "\n".join(lines)
        return Manifest(issues=tuple(issues), body=body, frontmatter_line=opening)

    raw = "\n".join(lines[block.opening + 1 : block.closing])
    parsed = _parse_block(raw, first_line=block.opening + 2)
    return Manifest(
        raw_frontmatter=raw,
        data=parsed.data,
        duplicates=parsed.duplicates,
        issues=tuple(issues + parsed.issues),
        body="\n".join(lines[block.closing + 1 :]),
        body_line=block.closing + 2,
        frontmatter_line=block.opening + 1,
    )


def _encoding_message(encoding: str) -> str:
    codec = encoding.removesuffix(LOSSY_SUFFIX)
    if codec != encoding:
        return f"SKILL.md is not valid {codec}; invalid bytes were replaced with U+FFFD"
    return f"SKILL.md is encoded as {codec}, not UTF-8"


def _find_block(lines: list[str]) -> _Block:
    start = _skip_preamble(lines)
    if start is None or lines[start].rstrip() != "---":
        empty = len(lines) == 1 and not lines[0]
        message = "SKILL.md is empty" if empty else "SKILL.md has no YAML frontmatter"
        return _Block(issues=[ManifestIssue(code="missing", message=message)])

    block = _Block(opening=start)
    if start > 0:
        message = "blank lines or HTML comments come before the frontmatter"
        block.issues.append(ManifestIssue(code="not_at_start", message=message, line=start + 1))
    fences = ("---", "...")
    block.closing = next(
        (i for i in range(start + 1, len(lines)) if lines[i].rstrip() in fences), None
    )
    if block.closing is None:
        message = "the frontmatter has no closing '---'; the whole file is read as the body"
        block.issues.append(ManifestIssue(code="unterminated", message=message, line=start + 1))
    return block


def _skip_preamble(lines: list[str]) -> int | None:
    """Return the index of the first line that is neither blank nor in an HTML comment."""
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped:
            index += 1
        elif stripped.startswith("<!--"):
            end = _comment_end(lines, index)
            if end is None:
                return None
            index = end + 1
        else:
            return index
    return None


def _comment_end(lines: list[str], start: int) -> int | None:
    """Return the line closing the comment opened on `start`, if only blanks follow it."""
    for index in range(start, len(lines)):
        segment = lines[index].strip()[4:] if index == start else lines[index]
        end = segment.find("-->")
        if end >= 0:
            return index if not segment[end + 3 :].strip() else None
    return None


def _parse_block(raw: str, *, first_line: int) -> _Parsed:
    if len(raw) > MAX_FRONTMATTER_CHARS:
        message = f"the frontmatter is over {MAX_FRONTMATTER_CHARS} characters; YAML not parsed"
        issue = ManifestIssue(code="too_large", message=message, line=first_line - 1)
        return _fallback(raw, first_line, [issue])

    result = load_mapping(raw, first_line=first_line)
    if result.failed:
        return _fallback(raw, first_line, result.issues)
    return _Parsed(result.data, result.duplicates, result.issues)


def _fallback(raw: str, first_line: int, issues: list[ManifestIssue]) -> _Parsed:
    """Read top-level ``key: value`` lines one by one, for YAML that does not parse."""
    parsed = _Parsed(issues=list(issues))
    lines = raw.split("\n")
    for index, line in enumerate(lines):
        match = _FALLBACK_KEY.fullmatch(line.rstrip())
        if match is None:
            continue
        key, value = match.group(1), (match.group(2) or "").strip()
        if value in _BLOCK_INDICATORS:
            value = _continuation(lines, index + 1, keep_newlines=value.startswith("|"))
        _store(parsed, key, _unquote(value), first_line + index)

    if parsed.data and _only_plain_keys(lines, issues):
        # NOTE: `description: Checks X: lint, tests` is no YAML (a plain value holds
        # ": "), yet every line is a `key: value` line that line-based readers take as
        # meant: a style slip, not a block whose meaning readers could disagree on.
        keys = ", ".join(list(parsed.data)[:10])
        message = f"a value holds ': ' unquoted; every key was still read line by line: {keys}"
        parsed.issues = [ManifestIssue(code="yaml_lenient", message=message)]
    elif parsed.data:
        keys = ", ".join(list(parsed.data)[:10])
        message = f"the YAML could not be read; these keys were read line by line: {keys}"
        parsed.issues.append(ManifestIssue(code="yaml_fallback", message=message))
    return parsed


def _only_plain_keys(lines: list[str], issues: list[ManifestIssue]) -> bool:
    """Return True when YAML failed on a value alone and each line is a plain key line."""
    if [issue.code for issue in issues] != ["yaml_error"]:
        return False
    for line in lines:
        stripped = line.rstrip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _FALLBACK_KEY.fullmatch(stripped)
        if match is None or (match.group(2) or "").strip() in _BLOCK_INDICATORS:
            return False
        value = (match.group(2) or "").strip()
        if value[:1] in ("'", '"', "[", "{", "&", "*", "!", "|", ">"):
            return False
    return True


def _continuation(lines: list[str], start: int, *, keep_newlines: bool) -> str:
    """Return the indented (or blank) lines that follow a key, joined."""
    taken: list[str] = []
    for line in lines[start:]:
        if line and not line[0].isspace():
            break
        taken.append(line.strip())
    return ("\n" if keep_newlines else " ").join(taken).strip()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        return value[1:-1]
    return value


def _store(parsed: _Parsed, key: str, value: str, line: int) -> None:
    if key in parsed.data:
        parsed.duplicates.setdefault(key, [parsed.data[key]]).append(value)
        message = f"key {key!r} appears more than once; the last value is used"
        parsed.issues.append(ManifestIssue(code="duplicate_key", message=message, line=line))
    parsed.data[key] = value
