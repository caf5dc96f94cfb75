"""The fixpoint of the Python front end: statements, expressions and calls.

`Evaluator.run` evaluates every scope of the skill (module bodies and
functions) until no variable, parameter, return value or attribute grows, at
most `MAX_ROUNDS` times. Library calls are handled in `_pycalls`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from scanner.analyzers.behavioral import _pycatalog as cat
from scanner.analyzers.behavioral._pycalls import CallInfo, CallsMixin
from scanner.analyzers.behavioral._pyindex import Index, Module, Scope, body_nodes
from scanner.analyzers.behavioral._pyvalue import (
    EMPTY,
    UNKNOWN,
    Label,
    Value,
    concat,
    merge_all,
    source_value,
    text_value,
)
from scanner.analyzers.behavioral.flow import Budget, LanguageResult, SourceKind, Step

_BASENAME_ATTRIBUTES = frozenset({"name", "stem"})
MAX_ROUNDS = 12
MAX_DEPTH = 40
_Key = tuple[str, str]
K = TypeVar("K")
_Target = tuple[Scope, bool]


class Evaluator(CallsMixin):
    """Evaluate a skill's scopes to a fixpoint, recording flows and capabilities."""

    def __init__(self, index: Index, budget: Budget, result: LanguageResult) -> None:
        super().__init__(result)
        self.index = index
        self.budget = budget
        self.vars: dict[_Key, Value] = {}
        self.returns: dict[str, Value] = {}
        self.attrs: dict[_Key, Value] = {}
        self._readers: dict[object, set[str]] = {}
        self._dirty: set[str] = set()
        self.current_file: str | None = None
        self.scope: Scope | None = None

    def run(self) -> None:
        """Evaluate every scope, then those whose inputs grew, until none did (bounded)."""
        self._seed_inputs()
        pending = list(self.index.scopes)
        for _ in range(MAX_ROUNDS):
            self._dirty = set()
            for scope in pending:
                self._run_scope(scope)
            if not self._dirty:
                break
            pending = [scope for scope in self.index.scopes if scope.id in self._dirty]

    def _seed_inputs(self) -> None:
        for scope in self.index.scopes:
            if not scope.input_params:
                continue
            for param in scope.params:
                step = Step(scope.path, scope.line, "source", f"command-line option {param}")
                label = Label(SourceKind.USER_INPUT, param, (step,))
                self._store(self.vars, (scope.id, param), source_value(label))

    def _run_scope(self, scope: Scope) -> None:
        self.scope = scope
        self.current_file = scope.path
        self.budget.start_file()
        body = scope.node.body
        stack: list[ast.stmt] = list(reversed(body))
        while stack:
            self.budget.tick()
            stack.extend(reversed(self._stmt(stack.pop())))

    # -- statements ---------------------------------------------------------------------

    def _stmt(self, node: ast.stmt) -> list[ast.stmt]:
        """Evaluate one statement; return the statements nested in it."""
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            self._assignment(node)
            return []
        if isinstance(node, ast.Expr | ast.Return):
            self._expression_statement(node)
            return []
        if isinstance(node, ast.For | ast.AsyncFor):
            self._assign(node.target, self._iterate(node.iter), node.lineno)
            return [*node.body, *node.orelse]
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                value = self.eval(item.context_expr)
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, value, node.lineno)
            return list(node.body)
        return self._compound(node)

    def _compound(self, node: ast.stmt) -> list[ast.stmt]:
        if isinstance(node, ast.If | ast.While):
            self.eval(node.test)
            return [*node.body, *node.orelse]
        if isinstance(node, ast.Try | ast.TryStar):
            handlers = [stmt for handler in node.handlers for stmt in handler.body]
            return [*node.body, *handlers, *node.orelse, *node.finalbody]
        if isinstance(node, ast.Match):
            self.eval(node.subject)
            return [stmt for case in node.cases for stmt in case.body]
        if isinstance(node, ast.ClassDef):
            return [stmt for stmt in node.body if not isinstance(stmt, ast.ClassDef)]
        return []

    def _assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        if node.value is None:
            return
        value = self.eval(node.value)
        if isinstance(node, ast.AugAssign):
            value = self._binop(node.op, self.eval(node.target), value, node.lineno)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            self._assign(target, value, node.lineno)

    def _expression_statement(self, node: ast.Expr | ast.Return) -> None:
        if node.value is None:
            return
        value = self.eval(node.value)
        if isinstance(node, ast.Return) and self.scope is not None and self.scope.parent:
            step = Step(self.scope.path, node.lineno, "step", f"returned from {self.scope.name}()")
            self._store(self.returns, self.scope.id, value.hop(step))

    def _assign(self, target: ast.expr, value: Value, line: int) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value.hop(self._step(line, f"assigned to {target.id}")))
        elif isinstance(target, ast.Attribute):
            hopped = value.hop(self._step(line, f"stored in .{target.attr}"))
            self._store(self.attrs, self._attr_key(target), hopped)
            self._assign(target.value, hopped.only_labels(), line)
        elif isinstance(target, ast.Subscript):
            self._assign(target.value, value, line)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._assign(element, value, line)
        elif isinstance(target, ast.Starred):
            self._assign(target.value, value, line)

    # -- names and storage --------------------------------------------------------------

    def _bind(self, name: str, value: Value) -> None:
        self._store(self.vars, self._var_key(name), value)

    def _store(self, table: dict[K, Value], key: K, value: Value) -> None:
        old = table.get(key, EMPTY)
        new = old.merge(value)
        if new.size() != old.size():
            table[key] = new
            self._dirty |= self._readers.get((id(table), key), set())

    def _read(self, table: dict[K, Value], key: K) -> Value:
        """Return a stored value and remember that the current scope depends on it."""
        self._readers.setdefault((id(table), key), set()).add(self._current().id)
        return table.get(key, EMPTY)

    def _var_key(self, name: str) -> _Key:
        scope = self._current()
        while scope.parent is not None and name not in scope.local_names:
            scope = scope.parent
        return scope.id, name

    def _lookup(self, name: str) -> Value:
        key = self._var_key(name)
        found = self._read(self.vars, key)
        if key in self.vars:
            return found
        module = self._current().module
        if name in module.imports:
            return self._imported(module.imports[name])
        return EMPTY

    def _imported(self, dotted: str) -> Value:
        """Return the value of a module-level name imported from another skill file."""
        module_part, _, attribute = dotted.rpartition(".")
        module = self.index.module_named(module_part) if module_part else None
        if module is None or module.root is None:
            return EMPTY
        return self._read(self.vars, (module.root.id, attribute))

    def _attr_key(self, node: ast.Attribute) -> _Key:
        owner = node.value
        scope = self._current()
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls") and scope.cls:
            return scope.cls, node.attr
        return "*", node.attr

    def _current(self) -> Scope:
        if self.scope is None:
            msg = "no scope is being evaluated"
            raise RuntimeError(msg)
        return self.scope

    def _step(self, line: int, detail: str, role: str = "step") -> Step:
        return Step(self._current().path, line, role, detail)

    # -- expressions --------------------------------------------------------------------

    def eval(self, node: ast.expr, depth: int = 0) -> Value:
        """Return what may flow through an expression."""
        self.budget.tick()
        if depth > MAX_DEPTH:
            return self._flat(node)
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node, depth + 1)
        return merge_all(self.eval(child, depth + 1) for child in _child_exprs(node))

    def _flat(self, node: ast.expr) -> Value:
        """Merge the names of a too-deep expression without descending recursively."""
        values = []
        for child in ast.walk(node):
            self.budget.tick()
            if isinstance(child, ast.Name):
                values.append(self._lookup(child.id).only_labels())
        return merge_all(values)

    def _name(self, node: ast.Name, depth: int) -> Value:
        return self._lookup(node.id)

    def _constant(self, node: ast.Constant, depth: int) -> Value:
        if isinstance(node.value, str):
            return text_value(node.value)
        if isinstance(node.value, bytes):
            return text_value(node.value.decode("latin-1"))
        return EMPTY

    def _attribute(self, node: ast.Attribute, depth: int) -> Value:
        name = self.canonical(node)
        special = self._special_attribute(node, name)
        if special is not None:
            return special
        if name and self._is_import_root(node):
            return self._imported(name)
        base = self.eval(node.value, depth)
        stored = self._read(self.attrs, self._attr_key(node))
        for tag in base.tags:
            if tag.startswith("class:"):
                stored = stored.merge(self._read(self.attrs, (tag[6:], node.attr)))
        if node.attr in _BASENAME_ATTRIBUTES and "pathlike" in base.tags and base.labels:
            # NOTE: `Path(x).name` is the last part of x: no folder survives it.
            step = self._step(node.lineno, f".{node.attr}", "transform")
            return Value(base.labels).transformed("basename", step).merge(stored)
        return Value(base.labels, base.strings).merge(stored)

    def _special_attribute(self, node: ast.Attribute, name: str) -> Value | None:
        if name in cat.ENVIRON:
            return self.source(SourceKind.ENV, "os.environ", node.lineno, "the whole environment")
        if name in cat.INPUT_ATTRIBUTES:
            return self.source(SourceKind.USER_INPUT, name, node.lineno, name)
        return None

    def _subscript(self, node: ast.Subscript, depth: int) -> Value:
        if self.canonical(node.value) in cat.ENVIRON:
            key = self.eval(node.slice, depth)
            return self.env_read(key, node.lineno)
        base = self.eval(node.value, depth)
        self.eval(node.slice, depth)
        if _is_reversal(node.slice) and base.labels:
            return base.transformed("reverse", self._step(node.lineno, "reversed", "transform"))
        return base

    def _joined(self, node: ast.JoinedStr, depth: int) -> Value:
        strings: frozenset[str] = frozenset({""})
        labels = EMPTY
        for part in node.values:
            value = self.eval(part, depth)
            part_strings = value.strings if value.strings else frozenset({UNKNOWN})
            strings = concat(strings, part_strings) or frozenset({UNKNOWN})
            labels = labels.merge(value.only_labels())
        if labels.labels:
            labels = labels.transformed("format", self._step(node.lineno, "f-string", "transform"))
        return labels.with_strings(strings)

    def _formatted(self, node: ast.FormattedValue, depth: int) -> Value:
        return self.eval(node.value, depth)

    def _binop_node(self, node: ast.BinOp, depth: int) -> Value:
        left = self.eval(node.left, depth)
        right = self.eval(node.right, depth)
        return self._binop(node.op, left, right, node.lineno)

    def _binop(self, op: ast.operator, left: Value, right: Value, line: int) -> Value:
        if isinstance(op, ast.Div):
            return self.path_join([left, right], line)
        kind = {ast.Add: "concat", ast.Mod: "format", ast.BitXor: "xor"}.get(type(op))
        merged = left.only_labels().merge(right.only_labels())
        if kind is None:
            return merged
        if merged.labels:
            merged = merged.transformed(kind, self._step(line, kind, "transform"))
        if kind == "concat":
            return merged.with_strings(concat(left.strings, right.strings))
        if kind == "format":
            return merged.with_strings(left.strings)
        return merged

    def _call_node(self, node: ast.Call, depth: int) -> Value:
        args = [self.eval(arg, depth) for arg in node.args]
        kwargs = {kw.arg or "**": self.eval(kw.value, depth) for kw in node.keywords}
        name, method, receiver = self._callee(node.func, depth)
        call = CallInfo(node, name, method, receiver, args, kwargs, self._current().path)
        target = self._skill_target(node.func, name, receiver)
        if target is not None:
            return self._call_skill(target, call)
        return self.library_call(call)

    def _callee(self, func: ast.expr, depth: int) -> tuple[str, str, Value]:
        name = self.canonical(func)
        if isinstance(func, ast.Attribute):
            if name and self._is_import_root(func):
                return name, func.attr, EMPTY
            return "", func.attr, self.eval(func.value, depth)
        if not isinstance(func, ast.Name):
            return "", "", self.eval(func, depth)
        return name, "", EMPTY

    def _compare(self, node: ast.Compare, depth: int) -> Value:
        for child in (node.left, *node.comparators):
            self.eval(child, depth)
        return EMPTY

    def _named(self, node: ast.NamedExpr, depth: int) -> Value:
        value = self.eval(node.value, depth)
        self._assign(node.target, value, node.lineno)
        return value

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, depth: int
    ) -> Value:
        for generator in node.generators:
            self._assign(generator.target, self._iterate(generator.iter, depth), node.lineno)
            for condition in generator.ifs:
                self.eval(condition, depth)
        if isinstance(node, ast.DictComp):
            return self.eval(node.key, depth).merge(self.eval(node.value, depth))
        return self.eval(node.elt, depth)

    def _iterate(self, node: ast.expr, depth: int = 0) -> Value:
        value = self.eval(node, depth)
        return Value(value.labels, value.strings, value.tags - {"write"})

    def _lambda(self, node: ast.Lambda, depth: int) -> Value:
        return EMPTY

    def _yield(self, node: ast.Yield | ast.YieldFrom, depth: int) -> Value:
        if node.value is None:
            return EMPTY
        value = self.eval(node.value, depth)
        scope = self._current()
        if scope.parent is not None:
            step = self._step(node.lineno, f"yielded by {scope.name}()")
            self._store(self.returns, scope.id, value.hop(step))
        return EMPTY

    def _not(self, node: ast.UnaryOp, depth: int) -> Value:
        value = self.eval(node.operand, depth)
        return EMPTY if isinstance(node.op, ast.Not) else value.only_labels()

    # -- names of things ----------------------------------------------------------------

    def canonical(self, node: ast.expr) -> str:
        """Return the dotted name of an expression with import aliases resolved, or ''."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or self._is_variable(node.id):
            return ""
        head = self._current().module.imports.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def _is_variable(self, name: str) -> bool:
        scope: Scope | None = self._current()
        while scope is not None:
            if name in scope.local_names and name not in scope.module.imports:
                return True
            scope = scope.parent
        return False

    def _is_import_root(self, node: ast.expr) -> bool:
        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name):
            return False
        return node.id in self._current().module.imports and not self._is_variable(node.id)

    # -- calls into the skill's own code ------------------------------------------------

    def _skill_target(self, func: ast.expr, name: str, receiver: Value) -> _Target | None:
        if isinstance(func, ast.Name):
            return self._named_target(func.id)
        if not isinstance(func, ast.Attribute):
            return None
        owner = func.value
        scope = self._current()
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls") and scope.cls:
            method = scope.module.classes.get(scope.cls, {}).get(func.attr)
            return (method, True) if method is not None else None
        if name:
            return self._module_target(name)
        return self._method_target(func.attr, receiver)

    def _named_target(self, name: str) -> _Target | None:
        scope: Scope | None = self._current()
        while scope is not None:
            if name in scope.inner:
                return scope.inner[name], False
            scope = scope.parent
        module = self._current().module
        if name in module.classes:
            return self._constructor(module, name)
        if name in module.imports:
            return self._module_target(module.imports[name])
        return None

    def _module_target(self, dotted: str) -> _Target | None:
        module_part, _, attribute = dotted.rpartition(".")
        module = self.index.module_named(module_part) if module_part else None
        if module is None or module.root is None:
            return None
        if attribute in module.root.inner:
            return module.root.inner[attribute], False
        if attribute in module.classes:
            return self._constructor(module, attribute)
        return None

    def _constructor(self, module: Module, cls: str) -> _Target | None:
        init = module.classes[cls].get("__init__")
        return (init, True) if init is not None else None

    def _method_target(self, method: str, receiver: Value) -> _Target | None:
        for tag in receiver.tags:
            if tag.startswith("class:"):
                for module in self.index.modules.values():
                    found = module.classes.get(tag[6:], {}).get(method)
                    if found is not None:
                        return found, True
        candidates = self.index.methods.get(method, [])
        if len(candidates) == 1 and not receiver.tags and method not in cat.COMMON_METHODS:
            return candidates[0], True
        return None

    def _call_skill(self, target: _Target, call: CallInfo) -> Value:
        scope, bound = target
        params = scope.params[1:] if bound and scope.is_method else scope.params
        step = Step(call.path, call.node.lineno, "step", f"passed to {scope.name}()")
        for param, value in zip(params, call.args, strict=False):
            self._store(self.vars, (scope.id, param), value.hop(step))
        for keyword, value in call.kwargs.items():
            if keyword in params:
                self._store(self.vars, (scope.id, keyword), value.hop(step))
        returned = self._read(self.returns, scope.id)
        back = Step(call.path, call.node.lineno, "step", f"returned by {scope.name}()")
        result = returned.hop(back)
        if scope.name.endswith(".__init__"):
            cls = scope.name.rsplit(".", 1)[0]
            result = merge_all(call.args).only_labels().with_tags({f"class:{cls}"})
        return result

    def _containers(self, node: ast.List | ast.Tuple | ast.Set | ast.Dict, depth: int) -> Value:
        return merge_all(self.eval(child, depth) for child in _child_exprs(node))

    def _if_expression(self, node: ast.IfExp, depth: int) -> Value:
        self.eval(node.test, depth)
        return self.eval(node.body, depth).merge(self.eval(node.orelse, depth))

    def _passthrough(self, node: ast.Await | ast.Starred, depth: int) -> Value:
        return self.eval(node.value, depth)

    def has_containment(self) -> bool:
        """Return True when the current scope checks a path stays inside a folder."""
        names = set()
        for node in body_nodes(self._current().node):
            if isinstance(node, ast.Call):
                func = node.func
                names.add(func.attr if isinstance(func, ast.Attribute) else self.canonical(func))
        if names & cat.CONTAINMENT:
            return True
        return "startswith" in names and bool(names & cat.REAL_PATHS)


def _is_reversal(node: ast.expr) -> bool:
    if not isinstance(node, ast.Slice) or node.step is None:
        return False
    step = node.step
    return isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub)


def _child_exprs(node: ast.AST) -> Iterator[ast.expr]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield child


_HANDLERS: dict[type[ast.AST], Callable[[Evaluator, Any, int], Value]] = {
    ast.Name: Evaluator._name,
    ast.Constant: Evaluator._constant,
    ast.Attribute: Evaluator._attribute,
    ast.Subscript: Evaluator._subscript,
    ast.JoinedStr: Evaluator._joined,
    ast.FormattedValue: Evaluator._formatted,
    ast.BinOp: Evaluator._binop_node,
    ast.Call: Evaluator._call_node,
    ast.Compare: Evaluator._compare,
    ast.NamedExpr: Evaluator._named,
    ast.ListComp: Evaluator._comprehension,
    ast.SetComp: Evaluator._comprehension,
    ast.GeneratorExp: Evaluator._comprehension,
    ast.DictComp: Evaluator._comprehension,
    ast.Lambda: Evaluator._lambda,
    ast.Yield: Evaluator._yield,
    ast.YieldFrom: Evaluator._yield,
    ast.UnaryOp: Evaluator._not,
    ast.List: Evaluator._containers,
    ast.Tuple: Evaluator._containers,
    ast.Set: Evaluator._containers,
    ast.Dict: Evaluator._containers,
    ast.IfExp: Evaluator._if_expression,
    ast.Await: Evaluator._passthrough,
    ast.Starred: Evaluator._passthrough,
}
