"""Python front end of the behavioral analyzer: cross-file taint analysis on the syntax tree.

Every Python file of the skill is parsed with `ast`; the modules are indexed
together, so a value can be read in one file, encoded in a second and sent in
a third. The analysis is flow-insensitive within a function and
context-insensitive across calls: each variable, parameter, return value and
attribute holds the union of what may reach it, and all scopes are evaluated
again until nothing changes (at most `MAX_ROUNDS` rounds). Containers are
single cells (a dict holds the union of its keys and values). Literal strings
are tracked alongside taint, so a URL or a path assembled from pieces is known
at the sink.

Hostile code: files over the budget's size are not parsed; `RecursionError`
and `MemoryError` from the parser become an `Incomplete` item; the index and
the statement walk use explicit stacks, and expression evaluation stops
descending at `MAX_DEPTH` (deeper parts are merged flat).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from scanner.analyzers._pyparse import parse_tolerant
from scanner.analyzers._text import FileType, file_type
from scanner.analyzers.behavioral._pyeval import Evaluator
from scanner.analyzers.behavioral._pyindex import Index, add_module
from scanner.analyzers.behavioral.flow import (
    Budget,
    BudgetExceededError,
    Incomplete,
    LanguageResult,
)
from scanner.core.models import SkillFile

MAX_FILES = 300
"""Python files analysed per skill; the rest are reported as incomplete."""


def analyze(files: Sequence[SkillFile], budget: Budget) -> LanguageResult:
    """Return the flows, capabilities and gaps of a skill's Python files."""
    result = LanguageResult()
    index = Index()
    sources = [item for item in files if file_type(item) is FileType.PYTHON]
    for position, item in enumerate(sources):
        if position >= MAX_FILES:
            result.incomplete.append(Incomplete(item.path, "size_budget", "too many files"))
            continue
        try:
            _parse_into(index, item, budget, result)
        except BudgetExceededError as exc:
            result.incomplete.append(Incomplete(item.path, exc.reason, "while indexing"))
            if exc.reason == "skill_budget":
                return result
    evaluator = Evaluator(index, budget, result)
    try:
        evaluator.run()
    except BudgetExceededError as exc:
        detail = "the dataflow fixpoint did not finish; flows found so far are reported"
        result.incomplete.append(Incomplete(evaluator.current_file or "", exc.reason, detail))
    return result


def _parse_into(index: Index, item: SkillFile, budget: Budget, result: LanguageResult) -> None:
    budget.start_file()
    text = item.text or ""
    if len(text.encode("utf-8", "surrogatepass")) > budget.max_file_bytes:
        detail = f"{len(text)} characters, over the {budget.max_file_bytes}-byte budget"
        result.incomplete.append(Incomplete(item.path, "size_budget", detail))
        return
    parsed = parse_tolerant(text, item.path)
    if parsed is not None:
        if parsed.skipped:
            shown = ", ".join(str(line) for line in parsed.skipped[:10])
            detail = f"line(s) {shown} do not parse and were set aside"
            result.incomplete.append(Incomplete(item.path, "parse_error", detail))
        add_module(index, item.path, parsed.tree, budget)
        return
    try:
        tree = ast.parse(text, filename=item.path)
    except SyntaxError as exc:
        result.incomplete.append(Incomplete(item.path, "parse_error", f"line {exc.lineno}"))
        return
    except (RecursionError, MemoryError) as exc:
        # SECURITY: deeply nested or huge code must not take the worker down.
        result.incomplete.append(Incomplete(item.path, "depth", type(exc).__name__))
        return
    except ValueError as exc:
        result.incomplete.append(Incomplete(item.path, "parse_error", str(exc)[:100]))
        return
    add_module(index, item.path, tree, budget)
