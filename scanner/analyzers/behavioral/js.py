"""JavaScript and TypeScript front end of the behavioral analyzer.

Files (`.js`, `.mjs`, `.cjs`, `.jsx`, `.ts`, `.mts`, `.cts`, `.tsx`, a node shebang)
are parsed with tree-sitter and walked in order. Values are carried through
declarations, assignments, destructuring, template literals, `+`, awaits, method
calls, callbacks (their parameters get the call's result), functions of the same
file and functions imported with `require` or `import` from the skill's own files.

- sources: `process.env` (a secret name, or the whole object), files read with
  `fs` whose path is a secret (also when built with `os.homedir()`, `path.join` or a
  template), system information from `os`, command output, downloads;
- transforms: `Buffer.from(...).toString('base64'|'hex')`, `btoa`, `atob`,
  `Buffer.from(x, 'base64')`;
- sinks: `fetch`, `http(s).request`/`get` and their `write`/`end`, axios and got,
  `net`/`tls` sockets, WebSocket, `dns` lookups, `child_process` (exec, spawn with
  `shell: true`), `eval`, `new Function`, `vm`, `require`/`import()` with a computed
  name, and `fs` writes to persistence files.

`package.json` lifecycle scripts (`preinstall`, `install`, `postinstall`, `prepare`...)
run on `npm install` without a prompt: each is a capability, and its command line goes
through the shell front end (and `node -e` code through this one).

Limitations:
    No types, no classes' fields, no aliasing through objects or arrays; a function
    is followed at most `MAX_CALL_DEPTH` calls deep; callbacks run once.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tree_sitter import Node

from scanner.analyzers._text import FileType, file_type, normalize_newlines
from scanner.analyzers._treesitter import line_of, node_text, parse
from scanner.analyzers.behavioral import shell
from scanner.analyzers.behavioral._jscalls import HANDLERS, handle_method
from scanner.analyzers.behavioral._record import Recorder
from scanner.analyzers.behavioral._shellvalues import (
    EMPTY,
    MAX_TEXT,
    Value,
    concat,
    is_secret_name,
)
from scanner.analyzers.behavioral.flow import (
    Budget,
    BudgetExceededError,
    Capability,
    Incomplete,
    LanguageResult,
    SourceKind,
    Step,
)
from scanner.core.models import SkillFile

LANGUAGE = "javascript"
MAX_DEPTH = 60
MAX_CALL_DEPTH = 5
LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare",
             "prepublish", "prepack", "postpack", "dependencies")  # fmt: skip
_DIALECTS = {".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx"}
_FUNCTIONS = frozenset({"arrow_function", "function_expression", "function", "generator_function"})
_NODE_EVAL = re.compile(r"\bnode\s+(?:-e|--eval|-p|--print)\s+(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)')")


@dataclass
class Module:
    """One parsed JavaScript file and the functions it defines and exports."""

    path: str
    root: Node
    functions: dict[str, Node] = field(default_factory=dict)
    exports: dict[str, Node] = field(default_factory=dict)


def analyze(files: Sequence[SkillFile], budget: Budget) -> LanguageResult:
    """Return the flows and capabilities of the JavaScript files and npm scripts."""
    result = LanguageResult()
    modules: dict[str, Module] = {}
    manifests: list[SkillFile] = []
    current = ""
    try:
        for item in files:
            current = item.path
            if item.text is None:
                continue
            if item.path.rsplit("/", 1)[-1] == "package.json":
                manifests.append(item)
            elif file_type(item) is FileType.JAVASCRIPT:
                modules[item.path] = _load(item, budget, result)
        for module in modules.values():
            current = module.path
            _run_module(module, modules, budget, result)
        for item in manifests:
            current = item.path
            budget.start_file()
            result.extend(analyze_package_json(item.path, item.text or "", budget))
    except BudgetExceededError as exc:
        result.incomplete.append(Incomplete(current, exc.reason))
    return result


def _load(item: SkillFile, budget: Budget, result: LanguageResult) -> Module:
    budget.start_file()
    text = normalize_newlines(item.text or "")
    if len(text) > budget.max_file_bytes:
        result.incomplete.append(Incomplete(item.path, "size_budget", f"{len(text)} characters"))
        text = text[: budget.max_file_bytes]
    tree = parse(_DIALECTS.get(item.suffix, "javascript"), text.encode("utf-8", "replace"))
    module = Module(item.path, tree.root_node)
    _collect_definitions(module, budget)
    return module


def _run_module(
    module: Module, modules: dict[str, Module], budget: Budget, result: LanguageResult
) -> None:
    budget.start_file()
    run = JsRun(module, modules, budget, result)
    try:
        run.walk_module()
    except BudgetExceededError as exc:
        result.incomplete.append(Incomplete(module.path, exc.reason))


def analyze_code(path: str, code: str, line: int, budget: Budget) -> LanguageResult:
    """Analyze a JavaScript snippet found elsewhere (`node -e`), reported at `line`."""
    result = LanguageResult()
    tree = parse("javascript", code[:MAX_TEXT].encode("utf-8", "replace"))
    module = Module(path, tree.root_node)
    _collect_definitions(module, budget)
    run = JsRun(module, {}, budget, result, flat_line=line)
    try:
        run.walk_module()
    except BudgetExceededError as exc:
        result.incomplete.append(Incomplete(path, exc.reason))
    return result


def analyze_package_json(path: str, text: str, budget: Budget) -> LanguageResult:
    """Turn the lifecycle scripts of a package.json into capabilities and flows."""
    result = LanguageResult()
    try:
        data = json.loads(text[: budget.max_file_bytes])
    except ValueError:
        return result
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return result
    recorder = Recorder(path, result, LANGUAGE)
    for name in LIFECYCLE:
        command = scripts.get(name)
        if not isinstance(command, str):
            continue
        line = _key_line(text, name)
        recorder.capability(Capability.EXECUTE, line, f"npm {name} runs `{command[:150]}`")
        result.extend(shell.analyze_command(path, command, line, budget))
        for match in _NODE_EVAL.finditer(command):
            code = match.group(1) if match.group(1) is not None else match.group(2)
            result.extend(analyze_code(path, code.replace('\\"', '"'), line, budget))
    return result


def _key_line(text: str, key: str) -> int:
    found = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def _collect_definitions(module: Module, budget: Budget) -> None:
    """Record the functions a module defines and exports (top level, iteratively)."""
    for statement in module.root.named_children:
        budget.tick()
        node = statement
        exported = node.type == "export_statement"
        if exported:
            inner = node.child_by_field_name("declaration") or node.child_by_field_name("value")
            node = inner if inner is not None else node
        for name, function in _definitions(node):
            module.functions[name] = function
            if exported:
                module.exports[name] = function
        for name, function in _commonjs_exports(node, module):
            module.exports[name] = function


def _definitions(node: Node) -> list[tuple[str, Node]]:
    if node.type in ("function_declaration", "generator_function_declaration"):
        name = node.child_by_field_name("name")
        return [(node_text(name, 200), node)] if name is not None else []
    found = []
    if node.type in ("lexical_declaration", "variable_declaration"):
        for declarator in node.named_children:
            name = declarator.child_by_field_name("name")
            value = declarator.child_by_field_name("value")
            if name is not None and value is not None and value.type in _FUNCTIONS:
                found.append((node_text(name, 200), value))
    return found


def _commonjs_exports(node: Node, module: Module) -> list[tuple[str, Node]]:
    """Read `module.exports.x = f`, `exports.x = f` and `module.exports = {a, b: f}`."""
    expression = node.named_children[0] if node.type == "expression_statement" else None
    if expression is None or expression.type != "assignment_expression":
        return []
    left = expression.child_by_field_name("left")
    right = expression.child_by_field_name("right")
    if left is None or right is None:
        return []
    target = node_text(left, 200)
    if target in ("module.exports", "exports") and right.type == "object":
        return list(_object_functions(right, module))
    name = target.rsplit(".", 1)[-1]
    if target.startswith(("module.exports.", "exports.")) and right.type in _FUNCTIONS:
        return [(name, right)]
    if target == "module.exports" and right.type in _FUNCTIONS:
        return [("default", right)]
    return []


def _object_functions(node: Node, module: Module) -> list[tuple[str, Node]]:
    found = []
    for child in node.named_children:
        if child.type == "shorthand_property_identifier":
            name = node_text(child, 200)
            if name in module.functions:
                found.append((name, module.functions[name]))
        elif child.type == "pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is not None and value is not None and value.type in _FUNCTIONS:
                found.append((node_text(key, 200).strip("'\""), value))
    return found


@dataclass(frozen=True)
class JsCall:
    """One call: its resolved name, evaluated arguments and syntax nodes."""

    name: str
    args: tuple[Value, ...]
    nodes: tuple[Node, ...]
    line: int
    receiver: Value


class JsRun(Recorder):
    """Walk one module's statements, carrying values and recording flows."""

    def __init__(
        self,
        module: Module,
        modules: dict[str, Module],
        budget: Budget,
        result: LanguageResult,
        *,
        flat_line: int | None = None,
    ) -> None:
        super().__init__(module.path, result, LANGUAGE)
        self.module = module
        self.modules = modules
        self.budget = budget
        self.env: dict[str, Value] = {}
        self.aliases: dict[str, str] = {}
        self._flat_line = flat_line
        self._depth = 0
        self._calls: list[int] = []
        self._returns: list[list[Value]] = []
        self._walked: set[int] = set()
        self._deep_reported = False

    def walk_module(self) -> None:
        """Walk the top level, then every function no call reached (parameters unknown)."""
        self.visit(self.module.root)
        for function in list(self.module.functions.values()) + list(self.module.exports.values()):
            if function.id not in self._walked:
                self.call_function(function, (), self.module)

    # -- walking ---------------------------------------------------------------------

    def visit(self, node: Node) -> Value:
        """Evaluate any node: statements give EMPTY, expressions their value."""
        self.budget.tick()
        if self._depth >= MAX_DEPTH:
            self._too_deep()
            return EMPTY
        self._depth += 1
        try:
            handler = _VISITORS.get(node.type)
            if handler is not None:
                return handler(self, node)
            if node.type in _FUNCTIONS or node.type in ("function_declaration", "class_body"):
                return Value("<function>", False)
            return concat(self.visit(child) for child in node.named_children).opaque(
                node_text(node, 120)
            )
        finally:
            self._depth -= 1

    def line(self, node: Node) -> int:
        """Return the line to report for a node."""
        return self._flat_line if self._flat_line is not None else line_of(node)

    def _too_deep(self) -> None:
        if not self._deep_reported:
            self._deep_reported = True
            self.result.incomplete.append(Incomplete(self.path, "depth", f"over {MAX_DEPTH}"))

    def bind(self, target: Node, value: Value, line: int) -> None:
        """Bind a name or a destructuring pattern to a value."""
        if target.type == "identifier":
            name = node_text(target, 200)
            step = Step(self.path, line, "step", f"assigns {name}")
            self.env[name] = value.then(step)
            return
        for child in target.named_children:
            self.budget.tick()
            if child.type in ("shorthand_property_identifier_pattern", "identifier"):
                self.bind_name(node_text(child, 200), value, line)
            elif child.type == "pair_pattern":
                inner = child.child_by_field_name("value")
                if inner is not None:
                    self.bind(inner, value, line)
            elif child.type in ("object_pattern", "array_pattern", "assignment_pattern"):
                self.bind(child.named_children[0] if child.named_children else child, value, line)

    def bind_name(self, name: str, value: Value, line: int) -> None:
        """Bind one name; a destructured module member becomes an alias."""
        if value.text.startswith("\x00module:"):
            self.aliases[name] = value.text[len("\x00module:") :] + "." + name
            return
        self.env[name] = value.then(Step(self.path, line, "step", f"assigns {name}"))

    # -- functions -------------------------------------------------------------------

    def call_function(self, function: Node, args: tuple[Value, ...], module: Module) -> Value:
        """Walk a function's body with its parameters bound; return what it returns."""
        self._walked.add(function.id)
        if len(self._calls) >= MAX_CALL_DEPTH or function.id in self._calls:
            return EMPTY
        saved_env, saved_path, saved_module = dict(self.env), self.path, self.module
        self.path, self.module = module.path, module
        self._calls.append(function.id)
        self._returns.append([])
        try:
            self._bind_parameters(function, args)
            body = function.child_by_field_name("body")
            value = self.visit(body) if body is not None else EMPTY
            returned = self._returns[-1]
            return (
                concat(returned) if body is not None and body.type == "statement_block" else value
            )
        finally:
            self._returns.pop()
            self._calls.pop()
            self.env, self.path, self.module = saved_env, saved_path, saved_module

    def _bind_parameters(self, function: Node, args: tuple[Value, ...]) -> None:
        params = function.child_by_field_name("parameters")
        single = function.child_by_field_name("parameter")
        nodes = params.named_children if params is not None else [single] if single else []
        line = self.line(function)
        for index, param in enumerate(nodes):
            target = param.child_by_field_name("pattern") or param
            if target.type == "assignment_pattern":
                target = target.child_by_field_name("left") or target
            value = args[index] if index < len(args) else EMPTY
            if target.type == "rest_pattern":
                value = concat(args[index:])
                target = target.named_children[0] if target.named_children else target
            self.bind(target, value, line)


def _visit_declaration(run: JsRun, node: Node) -> Value:
    for declarator in node.named_children:
        name = declarator.child_by_field_name("name")
        value_node = declarator.child_by_field_name("value")
        if name is None or value_node is None:
            continue
        if value_node.type in _FUNCTIONS and name.type == "identifier":
            run.module.functions.setdefault(node_text(name, 200), value_node)
            continue
        value = run.visit(value_node)
        if name.type == "identifier" and value.text.startswith("\x00module:"):
            run.aliases[node_text(name, 200)] = value.text[len("\x00module:") :]
            continue
        run.bind(name, value, run.line(declarator))
    return EMPTY


def _visit_import(run: JsRun, node: Node) -> Value:
    source = node.child_by_field_name("source")
    if source is None:
        return EMPTY
    module = _module_name(run, node_text(source, 300).strip("'\"`"))
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    for child in clause.named_children if clause is not None else []:
        if child.type == "identifier":
            run.aliases[node_text(child, 200)] = module
        elif child.type == "namespace_import":
            names = [c for c in child.named_children if c.type == "identifier"]
            if names:
                run.aliases[node_text(names[0], 200)] = module
        elif child.type == "named_imports":
            for spec in child.named_children:
                original = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or original
                if original is not None and alias is not None:
                    run.aliases[node_text(alias, 200)] = f"{module}.{node_text(original, 200)}"
    return EMPTY


def _module_name(run: JsRun, spec: str) -> str:
    """Return a canonical module name: `fs`, `fs.promises`, or `file:<path>` for own files."""
    spec = spec.removeprefix("node:")
    if spec.startswith("."):
        base = posixpath.dirname(run.module.path)
        target = posixpath.normpath(posixpath.join(base, spec))
        for candidate in (target, *(target + ext for ext in (".js", ".ts", ".mjs", ".cjs"))):
            if candidate in run.modules:
                return f"file:{candidate}"
        index = posixpath.join(target, "index.js")
        return f"file:{index}" if index in run.modules else spec
    return spec.replace("/", ".")


def _visit_return(run: JsRun, node: Node) -> Value:
    value = concat(run.visit(c) for c in node.named_children)
    if run._returns:
        run._returns[-1].append(value)
    return EMPTY


def _visit_string(run: JsRun, node: Node) -> Value:
    return Value(node_text(node, MAX_TEXT)[1:-1])


def _visit_template(run: JsRun, node: Node) -> Value:
    parts: list[Value] = []
    for child in node.named_children:
        if child.type == "template_substitution":
            parts.append(concat(run.visit(c) for c in child.named_children))
        elif child.type in ("string_fragment", "escape_sequence"):
            parts.append(Value(node_text(child, MAX_TEXT)))
    return concat(parts)


def _visit_identifier(run: JsRun, node: Node) -> Value:
    name = node_text(node, 200)
    found = run.env.get(name)
    if found is not None:
        return found
    if name in run.aliases:
        return Value("\x00module:" + run.aliases[name], False)
    return Value(name, False)


def _visit_binary(run: JsRun, node: Node) -> Value:
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    operator = node.child_by_field_name("operator")
    values = [run.visit(n) for n in (left, right) if n is not None]
    if operator is not None and operator.type == "+":
        return concat(values)
    return concat(values).opaque(node_text(node, 120))


def _visit_member(run: JsRun, node: Node) -> Value:
    name = canonical(run, node)
    if name == "process.env":
        return _env_dump(run, node)
    if name.startswith("process.env."):
        return env_variable(run, name.rsplit(".", 1)[-1], run.line(node))
    if name == "os.homedir" or name.startswith("file:"):
        return Value("\x00module:" + name, False)
    target = node.child_by_field_name("object")
    value = run.visit(target) if target is not None else EMPTY
    if value.text.startswith("\x00module:"):
        return Value("\x00module:" + name, False)
    return value.opaque(name)


def _visit_subscript(run: JsRun, node: Node) -> Value:
    target = node.child_by_field_name("object")
    index = node.child_by_field_name("index")
    if target is not None and canonical(run, target) == "process.env":
        key = run.visit(index) if index is not None else EMPTY
        if key.exact:
            return env_variable(run, key.text, run.line(node))
        return _env_dump(run, node)
    return concat(run.visit(c) for c in node.named_children).opaque(node_text(node, 120))


def _env_dump(run: JsRun, node: Node) -> Value:
    line = run.line(node)
    return run.source(SourceKind.ENV, line, "reads process.env", "env", "process.env")


def env_variable(run: JsRun, name: str, line: int) -> Value:
    """Return `process.env.NAME`: a source when the name is a secret's."""
    if name in ("HOME", "USERPROFILE"):
        return Value("~")
    if not is_secret_name(name):
        return Value(f"process.env.{name}", False)
    return run.source(SourceKind.ENV, line, f"reads process.env.{name}", name, f"${name}")


def canonical(run: JsRun, node: Node) -> str:
    """Return the dotted name of a callee, with module aliases resolved."""
    parts: list[str] = []
    current: Node | None = node
    while current is not None and current.type == "member_expression":
        run.budget.tick()
        prop = current.child_by_field_name("property")
        parts.append(node_text(prop, 100) if prop is not None else "")
        current = current.child_by_field_name("object")
        if len(parts) > 12:
            break
    head = ""
    if current is not None and current.type == "identifier":
        text = node_text(current, 100)
        head = run.aliases.get(text, text)
    elif current is not None and current.type == "call_expression":
        head = _required(run, current) or ""
    elif current is not None and current.type in ("parenthesized_expression", "await_expression"):
        inner = current.named_children[0] if current.named_children else None
        head = canonical(run, inner) if inner is not None else ""
    return ".".join([head, *reversed(parts)]) if parts else head


def _required(run: JsRun, node: Node) -> str | None:
    """Return the module of `require('x')`, or None for any other call."""
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    if function is None or node_text(function, 20) != "require" or arguments is None:
        return None
    first = arguments.named_children[0] if arguments.named_children else None
    if first is None or first.type != "string":
        return None
    return _module_name(run, node_text(first, 300).strip("'\"`"))


def _visit_call(run: JsRun, node: Node) -> Value:
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    if function is None:
        return EMPTY
    module = _required(run, node)
    if module is not None:
        return Value("\x00module:" + module, False)
    nodes = tuple(arguments.named_children) if arguments is not None else ()
    callbacks = [n for n in nodes if n.type in _FUNCTIONS]
    args = tuple(run.visit(n) for n in nodes if n.type not in _FUNCTIONS)
    name = canonical(run, function) if function.type != "import" else "import"
    receiver = EMPTY
    if function.type not in ("identifier", "member_expression", "import"):
        receiver = run.visit(function)
    if function.type == "member_expression":
        target = function.child_by_field_name("object")
        receiver = run.visit(target) if target is not None else EMPTY
    call = JsCall(name, args, nodes, run.line(node), receiver)
    result = _dispatch(run, call)
    for callback in callbacks:
        run.call_function(callback, (result,) * 4, run.module)
    return result


def _visit_new(run: JsRun, node: Node) -> Value:
    constructor = node.child_by_field_name("constructor")
    arguments = node.child_by_field_name("arguments")
    nodes = tuple(arguments.named_children) if arguments is not None else ()
    args = tuple(run.visit(n) for n in nodes if n.type not in _FUNCTIONS)
    name = canonical(run, constructor) if constructor is not None else ""
    call = JsCall("new " + name, args, nodes, run.line(node), EMPTY)
    return _dispatch(run, call)


def _visit_assignment(run: JsRun, node: Node) -> Value:
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if left is None or right is None:
        return EMPTY
    if right.type in _FUNCTIONS:
        run.module.functions.setdefault(node_text(left, 200).rsplit(".", 1)[-1], right)
        return EMPTY
    value = run.visit(right)
    if node.type == "augmented_assignment_expression" and left.type == "identifier":
        value = concat([run.env.get(node_text(left, 200), EMPTY), value])
    if left.type in ("identifier", "object_pattern", "array_pattern"):
        run.bind(left, value, run.line(node))
    elif left.type == "member_expression":
        holder = left.child_by_field_name("object")
        if holder is not None and holder.type == "identifier" and value.taints:
            name = node_text(holder, 200)
            run.env[name] = concat([run.env.get(name, EMPTY), value]).opaque(name)
    return value


def _visit_function_declaration(run: JsRun, node: Node) -> Value:
    return EMPTY


def _visit_first(run: JsRun, node: Node) -> Value:
    children = node.named_children
    return run.visit(children[0]) if children else EMPTY


_VISITORS: dict[str, Callable[[JsRun, Node], Value]] = {
    "lexical_declaration": _visit_declaration,
    "variable_declaration": _visit_declaration,
    "import_statement": _visit_import,
    "return_statement": _visit_return,
    "string": _visit_string,
    "template_string": _visit_template,
    "identifier": _visit_identifier,
    "shorthand_property_identifier": _visit_identifier,
    "binary_expression": _visit_binary,
    "member_expression": _visit_member,
    "subscript_expression": _visit_subscript,
    "call_expression": _visit_call,
    "new_expression": _visit_new,
    "assignment_expression": _visit_assignment,
    "augmented_assignment_expression": _visit_assignment,
    "function_declaration": _visit_function_declaration,
    "generator_function_declaration": _visit_function_declaration,
    "comment": _visit_function_declaration,
    "await_expression": _visit_first,
    "parenthesized_expression": _visit_first,
    "non_null_expression": _visit_first,
    "as_expression": _visit_first,
    "satisfies_expression": _visit_first,
    "number": lambda run, node: Value(node_text(node, 40)),
}


def _dispatch(run: JsRun, call: JsCall) -> Value:
    if call.name.startswith("file:"):
        return _call_imported(run, call)
    if call.name in run.module.functions:
        return run.call_function(run.module.functions[call.name], call.args, run.module)
    handler = HANDLERS.get(call.name)
    if handler is not None:
        return handler(run, call)
    return handle_method(run, call)


def _call_imported(run: JsRun, call: JsCall) -> Value:
    rest = call.name[len("file:") :]
    path = max(
        (p for p in run.modules if rest == p or rest.startswith(p + ".")), key=len, default=""
    )
    member = rest[len(path) + 1 :] or "default"
    module = run.modules.get(path)
    function = module.exports.get(member) if module is not None else None
    if module is None or function is None:
        return concat(call.args).opaque(call.name)
    step = Step(run.path, call.line, "step", f"calls {member} in {path}")
    args = tuple(a.then(step) for a in call.args)
    return run.call_function(function, args, module)
