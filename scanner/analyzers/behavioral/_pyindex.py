"""Index a skill's Python modules: scopes, functions, classes and import aliases.

The index is built with explicit stacks (never recursion), so a deeply nested
tree that `ast.parse` accepted cannot exhaust the interpreter's stack here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.analyzers.behavioral.flow import Budget

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_INPUT_DECORATORS = ("command", "option", "argument", "group", "callback")


@dataclass
class Scope:
    """A module body or a function body: where names live."""

    id: str
    module: Module
    node: ast.Module | FunctionNode
    parent: Scope | None = None
    cls: str | None = None
    name: str = "<module>"
    params: list[str] = field(default_factory=list)
    local_names: set[str] = field(default_factory=set)
    global_names: set[str] = field(default_factory=set)
    input_params: bool = False
    """Parameters are filled by a CLI framework (click, typer) from the command line."""
    inner: dict[str, Scope] = field(default_factory=dict)
    """Functions defined directly in this scope's body, by name."""

    @property
    def line(self) -> int:
        """Return the line where the scope starts."""
        return getattr(self.node, "lineno", 1)

    @property
    def path(self) -> str:
        """Return the file this scope belongs to."""
        return self.module.path

    @property
    def is_method(self) -> bool:
        """Return True for a function defined in a class body."""
        return self.cls is not None and bool(self.params) and self.params[0] in ("self", "cls")


@dataclass
class Module:
    """One Python file of the skill."""

    path: str
    name: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)
    """Local alias -> canonical dotted name (`sp` -> `subprocess`)."""
    root: Scope | None = None
    classes: dict[str, dict[str, Scope]] = field(default_factory=dict)


@dataclass
class Index:
    """Every module and scope of the skill."""

    modules: dict[str, Module] = field(default_factory=dict)
    scopes: list[Scope] = field(default_factory=list)
    methods: dict[str, list[Scope]] = field(default_factory=dict)

    def module_named(self, dotted: str) -> Module | None:
        """Return the skill module an import names (`helpers`, `scripts.helpers`, `.helpers`)."""
        name = dotted.lstrip(".")
        found = self.modules.get(name)
        if found is not None:
            return found
        tail = name.rsplit(".", 1)[-1]
        matches = [m for m in self.modules.values() if m.name.rsplit(".", 1)[-1] == tail]
        return matches[0] if len(matches) == 1 else None


def module_name(path: str) -> str:
    """Return the dotted module name of a skill path (`scripts/lib/net.py` -> `scripts.lib.net`)."""
    stem = path[: -len(".py")] if path.endswith(".py") else path
    parts = [part for part in stem.split("/") if part]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or stem


def add_module(index: Index, path: str, tree: ast.Module, budget: Budget) -> None:
    """Index one parsed file: its scopes, functions, classes and imports."""
    module = Module(path, module_name(path), tree)
    index.modules[module.name] = module
    root = Scope(f"{path}::<module>", module, tree)
    module.root = root
    index.scopes.append(root)
    stack: list[tuple[ast.AST, Scope, str | None]] = [(tree, root, None)]
    while stack:
        budget.tick()
        node, scope, cls = stack.pop()
        stack.extend(
            _visit(index, module, child, scope, cls) for child in ast.iter_child_nodes(node)
        )
    for scope in index.scopes:
        if scope.module is module:
            _fill_names(scope)


def _visit(
    index: Index, module: Module, child: ast.AST, scope: Scope, cls: str | None
) -> tuple[ast.AST, Scope, str | None]:
    if isinstance(child, ast.Import | ast.ImportFrom):
        _record_import(module, child)
    if isinstance(child, ast.ClassDef):
        module.classes.setdefault(child.name, {})
        return child, scope, child.name
    if isinstance(child, FunctionNode):
        new = _new_function(index, module, child, scope, cls)
        return child, new, None
    return child, scope, cls


def _new_function(
    index: Index, module: Module, node: FunctionNode, parent: Scope, cls: str | None
) -> Scope:
    owner = f"{cls}." if cls else ""
    scope = Scope(
        id=f"{module.path}::{owner}{node.name}@{node.lineno}",
        module=module,
        node=node,
        parent=parent,
        cls=cls,
        name=f"{owner}{node.name}",
        params=[a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)],
        input_params=_has_input_decorator(node),
    )
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            scope.params.append(extra.arg)
    index.scopes.append(scope)
    if cls is not None:
        module.classes.setdefault(cls, {})[node.name] = scope
        index.methods.setdefault(node.name, []).append(scope)
    else:
        parent.inner[node.name] = scope
    return scope


def _has_input_decorator(node: FunctionNode) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in _INPUT_DECORATORS:
            return True
    return False


def _record_import(module: Module, node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                module.imports[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                module.imports[root] = root
        return
    base = "." * node.level + (node.module or "")
    for alias in node.names:
        full = f"{base}.{alias.name}" if node.module else f"{base}{alias.name}"
        module.imports[alias.asname or alias.name] = full


def _fill_names(scope: Scope) -> None:
    scope.local_names.update(scope.params)
    for node in body_nodes(scope.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            scope.local_names.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            scope.global_names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.local_names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom) and scope.parent is not None:
            scope.local_names.update((a.asname or a.name).split(".")[0] for a in node.names)
    scope.local_names -= scope.global_names


def body_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """Yield the nodes of a scope's own body, not those of nested functions or lambdas."""
    stack = list(ast.iter_child_nodes(root))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, FunctionNode | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
