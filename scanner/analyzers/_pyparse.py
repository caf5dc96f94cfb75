"""Parse Python as the checks need it: tolerant of stray lines, with dynamic imports resolved.

Two things an attacker can do to a Python file to blind an AST check, and what this
module does about each:

- Make the file fail to parse under the scanner's Python (a statement from a newer
  release, a Python 2 `print`, one stray character). `parse_tolerant` replaces the
  offending line with `pass` (or `if True:` for a block opener, so its body still
  parses) and tries again, a bounded number of times; the rest of the file is
  analysed and the replaced lines are listed so the caller can say so.
- Name a module or attribute at run time: `__import__("requests")`,
  `importlib.import_module("req" + "uests")`, `getattr(os, "sys" + "tem")`. When the
  name folds to a constant, `resolve_dynamic_names` rewrites the expression into the
  plain `requests` or `os.system` the checks already understand, and adds the import
  it stands for to the module.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# A file whose errors need more repairs than this is reported as unparsable.
MAX_REPAIRS = 25
_MAX_FOLDED = 300
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")
_IMPORT_FUNCTIONS = frozenset(
    {"__import__", "builtins.__import__", "__builtins__.__import__", "importlib.__import__"}
)
_IMPORT_MODULE = frozenset({"importlib.import_module", "import_module"})
_DYNAMIC = _IMPORT_FUNCTIONS | _IMPORT_MODULE | {"getattr"}
_BLOCK_OPENER = re.compile(r"^[^#]*:\s*(?:#.*)?$")


@dataclass(frozen=True)
class Parsed:
    """A module tree and the 1-based lines replaced to make the file parse."""

    tree: ast.Module
    skipped: tuple[int, ...] = ()


def parse_tolerant(text: str, filename: str = "<skill>") -> Parsed | None:
    """Return the tree of `text`, replacing up to MAX_REPAIRS lines that do not parse.

    Returns None when the file cannot be made to parse, holds a null byte, or is too
    deeply nested for the parser.
    """
    lines = text.split("\n")
    skipped: list[int] = []
    for _ in range(MAX_REPAIRS + 1):
        try:
            tree = ast.parse("\n".join(lines), filename=filename)
        except SyntaxError as exc:
            line = _line_to_replace(exc, lines, skipped)
            if line is None:
                return None
            lines[line - 1] = _stand_in(lines[line - 1])
            skipped.append(line)
            continue
        except (ValueError, RecursionError, MemoryError):
            return None
        return Parsed(resolve_dynamic_names(tree), tuple(sorted(skipped)))
    return None


def _line_to_replace(exc: SyntaxError, lines: list[str], skipped: list[int]) -> int | None:
    """Return the line to replace for this error: its own, or the nearest one before it."""
    line = exc.lineno
    if line is None or not 1 <= line <= len(lines):
        return None
    while line >= 1 and (line in skipped or not lines[line - 1].strip()):
        line -= 1
    return line if line >= 1 else None


def _stand_in(line: str) -> str:
    """Return a statement at the line's indentation that keeps a following block valid."""
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}if True:" if _BLOCK_OPENER.match(line) else f"{indent}pass"


def resolve_dynamic_names(tree: ast.Module) -> ast.Module:
    """Rewrite constant dynamic imports, getattr calls and module aliases, in place.

    After this, `requests.get` reads the same however the module was reached:
    `import requests as rq`, `rq = __import__("requests")` or
    `rq = importlib.import_module("req" + "uests")`.
    """
    nodes = list(ast.walk(tree))
    changed = False
    if any(isinstance(node, ast.Call) and dotted(node.func) in _DYNAMIC for node in nodes):
        resolver = _Resolver()
        resolver.visit(tree)
        imports: list[ast.stmt] = [
            ast.Import(names=[ast.alias(name=name)], lineno=line, col_offset=0)
            for name, line in sorted(resolver.imported.items())
        ]
        tree.body[:0] = imports
        nodes, changed = list(ast.walk(tree)), True
    aliases = _module_aliases(nodes)
    if aliases:
        _Unalias(aliases).visit(tree)
        changed = True
    if changed:
        ast.fix_missing_locations(tree)
    return tree


def _module_aliases(nodes: list[ast.AST]) -> dict[str, str]:
    """Return names bound once in a module, to an imported module (`rq` -> `requests`)."""
    modules = {
        alias.name.split(".")[0]
        for node in nodes
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    if not modules:
        return {}
    bound: dict[str, list[str]] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    bound.setdefault(alias.asname, []).append(alias.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = dotted(node.value) if node.value is not None else ""
            for target in targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.setdefault(node.name, []).append("")
    return {
        name: values[0]
        for name, values in bound.items()
        if len(values) == 1 and values[0].split(".")[0] in modules and name not in modules
    }


class _Unalias(ast.NodeTransformer):
    def __init__(self, aliases: dict[str, str]) -> None:
        self._aliases = aliases

    def visit_Name(self, node: ast.Name) -> ast.AST:
        target = self._aliases.get(node.id)
        if target is None or not isinstance(node.ctx, ast.Load):
            return node
        return _name_chain(target, node)


class _Resolver(ast.NodeTransformer):
    def __init__(self) -> None:
        self.imported: dict[str, int] = {}

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = dotted(node.func)
        if name in _IMPORT_FUNCTIONS and node.args:
            module = _module_name(node.args[0])
            if module is not None:
                # `__import__("a.b")` returns the top package `a`.
                return self._import(module, module.split(".")[0], node)
        elif name in _IMPORT_MODULE and len(node.args) == 1:
            module = _module_name(node.args[0])
            if module is not None:
                return self._import(module, module, node)
        elif name == "getattr" and len(node.args) == 2:
            attribute = folded_text(node.args[1])
            if attribute is not None and attribute.isidentifier():
                found = ast.Attribute(value=node.args[0], attr=attribute, ctx=ast.Load())
                return ast.copy_location(found, node)
        return node

    def _import(self, module: str, expression: str, node: ast.Call) -> ast.AST:
        self.imported.setdefault(module, getattr(node, "lineno", 1))
        return _name_chain(expression, node)


def dotted(node: ast.AST) -> str:
    """Return `a.b.c` for a name or attribute chain, '' for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _name_chain(name: str, where: ast.AST) -> ast.expr:
    """Return the expression `a.b.c` for a dotted name, located at `where`."""
    first, *rest = name.split(".")
    built: ast.expr = ast.Name(id=first, ctx=ast.Load())
    for part in rest:
        built = ast.Attribute(value=built, attr=part, ctx=ast.Load())
    return ast.copy_location(built, where)


def _module_name(node: ast.AST) -> str | None:
    text = folded_text(node)
    return text if text is not None and _MODULE_NAME.match(text) else None


def folded_text(node: ast.AST, depth: int = 8) -> str | None:
    """Return the string an expression of literals always evaluates to, or None.

    Folds concatenation, `"".join` of literals, reversal (`[::-1]`) and `chr(n)`.
    """
    if depth <= 0:
        return None
    found = _fold(node, depth)
    return found if found is not None and len(found) <= _MAX_FOLDED else None


def _fold(node: ast.AST, depth: int) -> str | None:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = folded_text(node.left, depth - 1), folded_text(node.right, depth - 1)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Subscript) and _is_reversal(node.slice):
        inner = folded_text(node.value, depth - 1)
        return inner[::-1] if inner is not None else None
    if isinstance(node, ast.Call):
        return _fold_call(node, depth)
    return None


def _fold_call(node: ast.Call, depth: int) -> str | None:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1:
        code = node.args[0]
        if isinstance(code, ast.Constant) and type(code.value) is int and 0 < code.value < 0x110000:
            return chr(code.value)
        return None
    if not isinstance(func, ast.Attribute) or func.attr != "join" or len(node.args) != 1:
        return None
    if not isinstance(node.args[0], ast.List | ast.Tuple):
        return None
    separator = folded_text(func.value, depth - 1)
    parts = [folded_text(element, depth - 1) for element in node.args[0].elts]
    if separator is None or any(part is None for part in parts):
        return None
    return separator.join(part for part in parts if part is not None)


def _is_reversal(node: ast.AST) -> bool:
    if not isinstance(node, ast.Slice) or node.lower is not None or node.upper is not None:
        return False
    step = node.step
    return (
        isinstance(step, ast.UnaryOp)
        and isinstance(step.op, ast.USub)
        and isinstance(step.operand, ast.Constant)
        and step.operand.value == 1
    )
