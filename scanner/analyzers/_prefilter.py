"""Derive, from a regex, literal strings at least one of which every match must contain.

The signatures engine checks these literals with a plain substring search on the
lower-cased text before running the regex, which skips most patterns on most files.
The analysis is conservative: when a requirement cannot be proved, the pattern runs.
Text and literals are compared in `fold_case` form, which folds together every pair of
characters a case-insensitive Python regex treats as equal.
"""

from __future__ import annotations

import re
from re import _casefix  # type: ignore[attr-defined]
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

MIN_LITERAL = 3

_LITERAL = sre_constants.LITERAL
_SUBPATTERN = sre_constants.SUBPATTERN
_BRANCH = sre_constants.BRANCH
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)

Requirement = frozenset[str]


def _fold_table() -> dict[int, str]:
    """Map each character an IGNORECASE regex equates with another to one representative."""
    table: dict[int, str] = {}
    for key, extras in _casefix._EXTRA_CASES.items():
        members = (key, *extras)
        table.update(dict.fromkeys(members, chr(min(members))))
    return table


_FOLD = _fold_table()
# NOTE: str.lower() turns U+0130 into two characters; the regex engine reads it as "i".
_BEFORE_LOWER = {0x130: "i"}


def fold_case(text: str) -> str:
    """Return `text` lower-cased so that every IGNORECASE equivalent reads the same.

    SECURITY: plain lower() leaves U+017F (long s) and U+0131 (dotless i) as they are,
    while `(?i)secret` matches "secret" spelled with a long s: a prefilter on lower()
    alone would let such a spelling skip the pattern that recognises it.
    """
    if text.isascii():
        return text.lower()
    return text.translate(_BEFORE_LOWER).lower().translate(_FOLD)


def required_literals(pattern: str, flags: int = 0) -> Requirement | None:
    """Return lower-case strings one of which any match contains, or None if unknown."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return None
    return _sequence(list(parsed))


def required_sets(pattern: str, flags: int = 0) -> tuple[Requirement, ...]:
    """Return every requirement of the pattern's top level, strongest first.

    Each set holds strings one of which any match contains, and every set must be met:
    `curl ... (token|secret)` requires {"curl"} and {"token", "secret"}. An empty tuple
    means nothing is known and the pattern always runs.
    """
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return ()
    candidates = _candidates(list(parsed))
    strong = {item for item in candidates if _strength(item) > (0, 0)}
    return tuple(sorted(strong, key=lambda item: (_strength(item), sorted(item)), reverse=True))


def _sequence(items: list[tuple[Any, Any]]) -> Requirement | None:
    """Return the strongest requirement of a sequence (all of its parts must match)."""
    return max(_candidates(items), key=_strength, default=None)


def _candidates(items: list[tuple[Any, Any]]) -> list[Requirement]:
    """Return the requirements of a sequence's parts, each of which must be met."""
    candidates: list[Requirement] = []
    run: list[str] = []
    for op, value in items:
        if op is _LITERAL:
            run.append(chr(value))
            continue
        if op in _ZERO_WIDTH:
            continue
        _flush(run, candidates)
        found = _item(op, value)
        if found is not None:
            candidates.append(found)
    _flush(run, candidates)
    return candidates


def _item(op: Any, value: Any) -> Requirement | None:
    if op is _SUBPATTERN:
        return _sequence(list(value[-1]))
    if op is _BRANCH:
        found = [_sequence(list(alternative)) for alternative in value[1]]
        if any(item is None for item in found):
            return None
        return frozenset().union(*(item for item in found if item is not None))
    if op in _REPEATS and value[0] >= 1:
        return _sequence(list(value[2]))
    return None


def _flush(run: list[str], candidates: list[Requirement]) -> None:
    if len(run) >= MIN_LITERAL:
        candidates.append(frozenset({fold_case("".join(run))}))
    run.clear()


def _strength(requirement: Requirement) -> tuple[int, int]:
    """Prefer requirements whose shortest literal is long, then fewer alternatives."""
    shortest = min((len(item) for item in requirement), default=0)
    if shortest < MIN_LITERAL:
        return (0, 0)
    return (min(shortest, 8), -len(requirement))
