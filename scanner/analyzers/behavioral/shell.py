"""Shell front end of the behavioral analyzer: follow data through a script.

Scripts (`.sh`, `.bash`, `.zsh`, `.ksh`, shell start-up files, a shell shebang) and
the fenced `bash`/`sh`/`shell`/`zsh`/`console` blocks of Markdown files are parsed with
tree-sitter and walked statement by statement, in order. Variables, command
substitution, pipelines, redirections, here-strings and here-documents, `export`,
`read`, files written then read or run, and functions called in the same script (or
in an earlier block of the same Markdown file) carry values from:

- sources: secret environment variables and environment dumps (`env`, `printenv`),
  credential files (SSH keys, cloud, kube, docker and gcloud configs, `.env`,
  `.netrc`), browser stores, agent credentials, the keychain (`security
  find-generic-password`), the clipboard, system information and downloads;
- through encoders (`base64`, `xxd`, `od`, `gzip`, `openssl enc`, `tr`, `rev`),
- to sinks: `curl`/`wget` bodies, uploads, headers and URLs, `nc`/`ncat`/`socat`,
  `/dev/tcp` redirections, DNS lookups with data in the name, mail, git remotes,
  `scp`/`rsync` to a remote host, `eval`, `sh -c`, `source <(...)`, pipes into an
  interpreter, running a downloaded file, and writes to persistence files.

A token sent to its own vendor's host (`$GITHUB_TOKEN` to api.github.com) is not a
flow. Budgets: the clock is checked from every loop; expansion and nesting deeper
than `MAX_DEPTH` is cut and reported as incomplete.

Limitations:
    Loops run once; `case` arms all run. Arrays are one value. Aliases and
    functions defined in another file are not followed. Command text built at run
    time and evaluated is parsed again only when it is fully known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tree_sitter import Node

from scanner.analyzers._text import FileType, file_type, normalize_newlines
from scanner.analyzers._treesitter import line_of, node_text, parse
from scanner.analyzers.behavioral._record import Recorder
from scanner.analyzers.behavioral._shellcommands import HANDLERS
from scanner.analyzers.behavioral._shellvalues import (
    EMPTY,
    MAX_TEXT,
    Call,
    Taint,
    Value,
    classify_path,
    concat,
    is_outside,
    is_secret_name,
    tables,
)
from scanner.analyzers.behavioral.flow import (
    Budget,
    BudgetExceededError,
    Capability,
    Incomplete,
    LanguageResult,
    SinkKind,
    SourceKind,
    Step,
)
from scanner.core.models import SkillFile

LANGUAGE = "shell"
MAX_DEPTH = 48
MAX_CALL_DEPTH = 6
MAX_BLOCKS = 400
SHELL_FENCES = frozenset(
    {"bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession", "ksh", "terminal"}
)
_SCRIPT_SUFFIXES = frozenset({".sh", ".bash", ".zsh", ".ksh", ".command", ""})
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*\{?\.?([\w+-]*)")
_PROMPT = re.compile(r"^\s*(?:\$|%|>)\s")
_WRAPPERS = frozenset(
    {"sudo", "doas", "env", "nohup", "time", "command", "builtin", "exec", "nice"}
)
_WRAPPER_WITH_ARG = frozenset({"-u", "-g", "-C", "-n", "-p", "-h", "-U", "-D", "-S", "-s"})


def analyze(files: Sequence[SkillFile], budget: Budget) -> LanguageResult:
    """Return the flows and capabilities of the shell scripts and Markdown blocks."""
    result = LanguageResult()
    for item in files:
        markdown = shell_role(item)
        if markdown is None or item.text is None:
            continue
        try:
            budget.start_file()
        except BudgetExceededError as exc:
            result.incomplete.append(Incomplete(item.path, exc.reason))
            break
        result.extend(analyze_text(item.path, item.text, budget, markdown=markdown))
    return result


def shell_role(item: SkillFile) -> bool | None:
    """Return True for Markdown, False for a shell script, None for anything else."""
    kind = file_type(item)
    if kind is FileType.MARKDOWN:
        return True
    if kind is FileType.SHELL and item.suffix in _SCRIPT_SUFFIXES | {".bashrc", ".profile"}:
        return False
    name = item.path.rsplit("/", 1)[-1]
    return False if kind is FileType.SHELL and name.startswith(".") else None


def analyze_text(path: str, text: str, budget: Budget, *, markdown: bool) -> LanguageResult:
    """Analyze one file's text: a whole script, or the shell blocks of a Markdown file."""
    result = LanguageResult()
    text = normalize_newlines(text)
    if len(text) > budget.max_file_bytes:
        result.incomplete.append(Incomplete(path, "size_budget", f"{len(text)} characters"))
        text = text[: budget.max_file_bytes]
    blocks = shell_blocks(text) if markdown else [(1, text)]
    run = ShellRun(path, budget, result)
    try:
        for first_line, block in blocks:
            run.script(block, first_line - 1)
    except BudgetExceededError as exc:
        result.incomplete.append(Incomplete(path, exc.reason))
    return result


def analyze_command(path: str, command: str, line: int, budget: Budget) -> LanguageResult:
    """Analyze one command line found elsewhere (an npm script), reported at `line`."""
    result = LanguageResult()
    run = ShellRun(path, budget, result, flat_line=line)
    try:
        run.script(command[: budget.max_file_bytes], line - 1)
    except BudgetExceededError as exc:
        result.incomplete.append(Incomplete(path, exc.reason))
    return result


def shell_blocks(text: str) -> list[tuple[int, str]]:
    """Return (first line, text) of each fenced shell block; prompts are removed."""
    blocks: list[tuple[int, str]] = []
    fence: tuple[str, bool, int, list[str]] | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        match = _FENCE.match(line)
        if fence is None:
            if match is not None:
                lang = match.group(2).lower()
                fence = (match.group(1), lang in SHELL_FENCES, number + 1, [])
                fence[3].append("") if lang == "console" else None
            continue
        ticks, keep, start, lines = fence
        closing = match is not None and match.group(1)[0] == ticks[0]
        if closing and match is not None and len(match.group(1)) >= len(ticks):
            if keep and len(blocks) < MAX_BLOCKS:
                console = bool(lines) and lines[0] == "" and len(lines) > 0
                blocks.append((start, _strip_prompts(lines[1:] if console else lines, console)))
            fence = None
            continue
        lines.append(line)
    return blocks


def _strip_prompts(lines: list[str], console: bool) -> str:
    """Keep commands only: drop prompts, and in a console block drop output lines."""
    kept = []
    for line in lines:
        match = _PROMPT.match(line)
        if match is not None:
            kept.append(line[match.end() :])
        else:
            kept.append("" if console else line)
    return "\n".join(kept)


class ShellRun(Recorder):
    """Walk the statements of one file's scripts, carrying values and recording flows."""

    def __init__(
        self, path: str, budget: Budget, result: LanguageResult, *, flat_line: int | None = None
    ) -> None:
        super().__init__(path, result, LANGUAGE)
        self.budget = budget
        self.env: dict[str, Value] = {}
        self.files: dict[str, Value] = {}
        self.functions: dict[str, tuple[Node, int]] = {}
        self._offset = 0
        self._flat_line = flat_line
        self._depth = 0
        self._calls: list[str] = []
        self._deep_reported = False
        self._statements: dict[str, Callable[[Node, Value], Value]] = {
            "command": self._command,
            "pipeline": self._pipeline,
            "redirected_statement": self._redirected,
            "variable_assignment": self._assignment,
            "variable_assignments": self._sequence,
            "declaration_command": self._declaration,
            "for_statement": self._for,
            "function_definition": lambda node, stdin: EMPTY,
            "comment": lambda node, stdin: EMPTY,
            "heredoc_body": lambda node, stdin: EMPTY,
        }

    # -- entry -----------------------------------------------------------------------

    def script(self, text: str, line_offset: int) -> None:
        """Parse and walk one script whose first line is `line_offset + 1`."""
        tree = parse("bash", text.encode("utf-8", "replace"))
        self._offset = line_offset
        self._collect_functions(tree.root_node, line_offset)
        self.run(tree.root_node, EMPTY)

    def _collect_functions(self, root: Node, offset: int) -> None:
        stack = [root]
        while stack:
            self.budget.tick()
            node = stack.pop()
            if node.type == "function_definition":
                name = node.child_by_field_name("name")
                body = node.child_by_field_name("body")
                if name is not None and body is not None:
                    self.functions[node_text(name, 200)] = (body, offset)
                continue
            if node.type in ("command", "word", "string", "heredoc_body", "comment"):
                continue
            stack.extend(node.named_children)

    # -- statements ------------------------------------------------------------------

    def run(self, node: Node, stdin: Value) -> Value:
        """Run one statement (or any node) and return what it writes to stdout."""
        self.budget.tick()
        if self._depth >= MAX_DEPTH:
            self._too_deep()
            return EMPTY
        self._depth += 1
        try:
            handler = self._statements.get(node.type)
            if handler is not None:
                return handler(node, stdin)
            if node.type in _WORD_TYPES:
                return self.word(node).opaque("")
            return self._sequence(node, stdin)
        finally:
            self._depth -= 1

    def _sequence(self, node: Node, stdin: Value) -> Value:
        outputs = [self.run(child, stdin) for child in node.named_children]
        return concat(outputs)

    def _pipeline(self, node: Node, stdin: Value) -> Value:
        out = stdin
        for child in node.named_children:
            out = self.run(child, out)
        return out

    def _for(self, node: Node, stdin: Value) -> Value:
        variable = node.child_by_field_name("variable")
        values = [self.word(v) for v in node.children_by_field_name("value")]
        if variable is not None:
            self._assign(node_text(variable, 200), concat(values, " "), self._line(node))
        body = node.child_by_field_name("body")
        return self.run(body, stdin) if body is not None else EMPTY

    def _assignment(self, node: Node, stdin: Value) -> Value:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        if name_node is None:
            return EMPTY
        name = node_text(name_node, 200)
        value = self.word(value_node) if value_node is not None else EMPTY
        if any(child.type == "+=" for child in node.children):
            value = concat([self.env.get(name, EMPTY), value])
        self._assign(name, value, self._line(node))
        return EMPTY

    def _assign(self, name: str, value: Value, line: int) -> None:
        text = value.text if value.exact else f"${name}"
        stored = Value(text, value.exact, value.taints)
        if stored.taints:
            stored = stored.then(Step(self.path, line, "step", f"assigns {name}"))
        self.env[name] = stored

    def _declaration(self, node: Node, stdin: Value) -> Value:
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._assignment(child, stdin)
            elif child.type in _WORD_TYPES:
                self.word(child)
        return EMPTY

    def _redirected(self, node: Node, stdin: Value) -> Value:
        body = node.child_by_field_name("body")
        writes: list[tuple[Value, bool]] = []
        after: Node | None = None
        for redirect in node.children_by_field_name("redirect"):
            stdin, after = self._redirect(redirect, stdin, writes, after)
        out = self.run(body, stdin) if body is not None else EMPTY
        line = self._line(node)
        for target, append in writes:
            self.write(target, out, line, append)
        if after is not None:
            return self.run(after, out)
        return EMPTY if writes else out

    def _redirect(
        self, node: Node, stdin: Value, writes: list[tuple[Value, bool]], after: Node | None
    ) -> tuple[Value, Node | None]:
        """Apply one redirection: return the new stdin and a pipeline fed by a heredoc."""
        if node.type == "herestring_redirect":
            return concat(self.word(c) for c in node.named_children), after
        if node.type == "heredoc_redirect":
            return self._heredoc(node), _heredoc_pipeline(node) or after
        if node.type != "file_redirect":
            return stdin, after
        destination = node.child_by_field_name("destination")
        if destination is None:
            return stdin, after
        operator = "".join(c.type for c in node.children if not c.is_named)
        target = self.word(destination)
        descriptor = node.child_by_field_name("descriptor")
        if operator in ("<", "<<<"):
            return self.read_file(target, self._line(node)), after
        if "<" in operator and ">" in operator:
            self.write(target, EMPTY, self._line(node), False)
            return stdin, after
        stdout = descriptor is None or node_text(descriptor, 8) in ("1", "&")
        if destination.type != "number" and (stdout or "&" in operator):
            writes.append((target, ">>" in operator))
        return stdin, after

    def _heredoc(self, node: Node) -> Value:
        body = next((c for c in node.named_children if c.type == "heredoc_body"), None)
        if body is None:
            return EMPTY
        parts = [self.word(c) for c in body.named_children if c.type != "heredoc_content"]
        return Value(node_text(body, MAX_TEXT), not parts, concat(parts).taints)

    # -- words -----------------------------------------------------------------------

    def word(self, node: Node) -> Value:
        """Evaluate one word: literal text, expansions and command substitutions."""
        self.budget.tick()
        kind = node.type
        if kind in ("word", "number", "string_content", "heredoc_content"):
            return Value(_unescape(node_text(node, MAX_TEXT)))
        if kind == "raw_string":
            return Value(node_text(node, MAX_TEXT)[1:-1])
        if kind == "ansi_c_string":
            return Value(node_text(node, MAX_TEXT)[2:-1])
        if self._depth >= MAX_DEPTH:
            self._too_deep()
            return Value(node_text(node, 80), False)
        self._depth += 1
        try:
            return self._compound_word(node, kind)
        finally:
            self._depth -= 1

    def _compound_word(self, node: Node, kind: str) -> Value:
        if kind in ("simple_expansion", "expansion"):
            return self._expand(node)
        if kind in ("command_substitution", "process_substitution"):
            return self._substitute(node)
        if kind in ("string", "concatenation", "translated_string", "heredoc_body"):
            return self._joined(node)
        if kind == "array":
            return concat((self.word(c) for c in node.named_children), " ")
        if kind in ("arithmetic_expansion", "brace_expression", "extglob_pattern"):
            return Value(node_text(node, 200), False)
        return concat(self.word(c) for c in node.named_children).opaque(node_text(node, 200))

    def _joined(self, node: Node) -> Value:
        """Join the parts of a string or concatenation, keeping the literal text between."""
        raw = node.text or b""
        base = node.start_byte
        parts: list[Value] = []
        position = base + (1 if node.type == "string" else 0)
        end = node.end_byte - (1 if node.type == "string" else 0)
        for child in node.named_children:
            gap = raw[position - base : child.start_byte - base]
            if gap:
                parts.append(Value(gap.decode("utf-8", "replace")))
            parts.append(self.word(child))
            position = child.end_byte
        tail = raw[position - base : end - base] if end > position else b""
        if tail:
            parts.append(Value(tail.decode("utf-8", "replace")))
        return concat(parts)

    def _expand(self, node: Node) -> Value:
        name_node = next(
            (c for c in node.named_children if c.type in _NAME_TYPES),
            None,
        )
        if name_node is None:
            return Value(node_text(node, 200), False)
        name = node_text(name_node, 200)
        if name not in self.env and node.type == "expansion":
            default = [c for c in node.named_children if c is not name_node]
            if default:
                return concat([self.lookup(name, node), *map(self.word, default)])
        return self.lookup(name, node)

    def lookup(self, name: str, where: Node | int) -> Value:
        """Return a variable's value; an unset secret-looking name reads the environment."""
        found = self.env.get(name)
        if found is not None:
            return found
        if name in ("HOME", "USERPROFILE"):
            return Value("~")
        if is_secret_name(name):
            line = where if isinstance(where, int) else self._line(where)
            step = Step(self.path, line, "source", f"reads ${name}")
            self.capability(Capability.READ_SECRETS, line, f"reads ${name}")
            return Value(f"${name}", False, (Taint(SourceKind.ENV, (step,), (), name),))
        return Value(f"${name}", False)

    def _substitute(self, node: Node) -> Value:
        children = node.named_children
        if len(children) == 1 and children[0].type == "file_redirect":
            target = children[0].child_by_field_name("destination")
            if target is not None:
                return self.read_file(self.word(target), self._line(node)).opaque("$(<file)")
        out = concat(self.run(child, EMPTY) for child in children)
        return out if out.exact and out.text else out.opaque(node_text(node, 200))

    # -- commands --------------------------------------------------------------------

    def _command(self, node: Node, stdin: Value) -> Value:
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._assignment(child, stdin)
            elif child.type in ("herestring_redirect", "file_redirect"):
                stdin, _ = self._redirect(child, stdin, [], None)
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return EMPTY
        name_value = concat(self.word(c) for c in name_node.named_children)
        args = tuple(self.word(a) for a in node.children_by_field_name("argument"))
        name = name_value.text.rsplit("/", 1)[-1] if name_value.exact else ""
        call = Call(name, args, stdin, self._line(node), name_value)
        return self.dispatch(call)

    def dispatch(self, call: Call) -> Value:
        """Run one command: a function of the script, a known command or a plain one."""
        if call.name in _WRAPPERS:
            return self._unwrap(call)
        if call.name in self.functions and call.name not in self._calls:
            return self._call_function(call)
        handler = HANDLERS.get(call.name)
        if handler is not None:
            return handler(self, call)
        if "/" in call.name_value.text or call.name_value.taints:
            self.run_file(call.name_value, call)
        passthrough = concat([call.stdin, *call.args]).taints
        return Value(f"$({call.name})", False, passthrough)

    def _unwrap(self, call: Call) -> Value:
        args = list(call.args)
        while args and (args[0].text.startswith("-") or "=" in args[0].text):
            option = args.pop(0).text
            if call.name in ("sudo", "doas") and option in _WRAPPER_WITH_ARG and args:
                args.pop(0)
        if not args:
            return self.env_dump(call) if call.name == "env" else EMPTY
        inner = args[0]
        name = inner.text.rsplit("/", 1)[-1] if inner.exact else ""
        return self.dispatch(Call(name, tuple(args[1:]), call.stdin, call.line, inner))

    def _call_function(self, call: Call) -> Value:
        body, offset = self.functions[call.name]
        if len(self._calls) >= MAX_CALL_DEPTH:
            return EMPTY
        saved = {key: self.env.get(key) for key in ("@", "*", "1", "2", "3", "4", "5")}
        step = Step(self.path, call.line, "step", f"calls {call.name}")
        for index, arg in enumerate(call.args[:5], start=1):
            self.env[str(index)] = arg.then(step)
        self.env["@"] = self.env["*"] = concat(call.args, " ").then(step)
        self._calls.append(call.name)
        previous, self._offset = self._offset, offset
        try:
            return self.run(body, call.stdin)
        finally:
            self._offset = previous
            self._calls.pop()
            for key, value in saved.items():
                if value is None:
                    self.env.pop(key, None)
                else:
                    self.env[key] = value

    # -- sources -----------------------------------------------------------------------

    def read_file(self, target: Value, line: int) -> Value:
        """Return what reading a file yields: a secret, a written file's data, or nothing."""
        path = target.text
        written = self.files.get(_file_key(path))
        kind = classify_path(path)
        if kind is not None:
            found = self.source(kind, line, f"reads {path}", path, f"$(cat {path})")
        elif is_outside(path) and target.exact and not path.startswith("/dev/"):
            found = self.source(SourceKind.USER_FILE, line, f"reads {path}", path, "")
        elif "/dev/tcp/" in path or "/dev/udp/" in path:
            found = self.source(SourceKind.NETWORK, line, f"reads {path}", path, "")
        else:
            found = Value(f"$(cat {path})", False)
        return concat([found, written] if written is not None else [found], "").opaque()

    def env_dump(self, call: Call) -> Value:
        """Return the whole environment as a source."""
        return self.source(SourceKind.ENV, call.line, "dumps the environment", "env", "$(env)")

    # -- sinks -------------------------------------------------------------------------

    def write(self, target: Value, data: Value, line: int, append: bool) -> None:
        """Record a write: a socket, a persistence file, or a file later read or run."""
        path = target.text
        if path.startswith(("/dev/tcp/", "/dev/udp/")):
            self.capability(Capability.NETWORK, line, f"opens {path}")
            self.sink(SinkKind.SOCKET, line, f"writes to {path}", data, path)
            return
        if path in ("/dev/null", "/dev/stdout", "/dev/stderr", "-") or not path:
            return
        self.capability(Capability.WRITE_FILES, line, f"writes {path}")
        if is_outside(path):
            self.capability(Capability.WRITE_OUTSIDE, line, f"writes {path}")
        if tables().persistence.search(path):
            verb = "appends to" if append else "writes"
            self.capability(Capability.PERSIST, line, f"{verb} {path}")
            self.sink(SinkKind.PERSISTENCE_WRITE, line, f"{verb} {path}", data, path)
            self.persisted(data, line)
        key = _file_key(path)
        self.files[key] = concat([self.files.get(key, EMPTY), data]) if append else data

    def persisted(self, data: Value, line: int, *, cron: bool = False) -> None:
        """Walk shell code written into a start-up file or crontab, as it will run later."""
        if data.exact and data.text.strip():
            self.nested(_CRON_SCHEDULE.sub("", data.text) if cron else data.text, line)

    def run_file(self, target: Value, call: Call) -> None:
        """Record a file being run; what was written into it reaches the process sink."""
        self.capability(Capability.EXECUTE, call.line, f"runs {target.text}")
        written = self.files.get(_file_key(target.text))
        value = concat([target, written] if written is not None else [target])
        self.sink(SinkKind.PROCESS, call.line, f"runs {target.text}", value, target.text)

    def execute(self, kind: SinkKind, call: Call, code: Value, detail: str) -> None:
        """Record code run by a shell or interpreter; known literal shell code is walked too."""
        self.capability(Capability.EXECUTE, call.line, detail)
        self.sink(kind, call.line, detail, code, call.name)
        if kind is not SinkKind.EVAL and code.exact and code.text.strip():
            self.nested(code.text, call.line)

    def nested(self, text: str, line: int) -> None:
        """Walk shell code found as a literal string (`bash -c '...'`), reported at `line`."""
        if self._depth >= MAX_DEPTH:
            self._too_deep()
            return
        self._depth += 4
        try:
            tree = parse("bash", text[:MAX_TEXT].encode("utf-8", "replace"))
            saved = self._flat_line
            self._flat_line = line if saved is None else saved
            self.run(tree.root_node, EMPTY)
            self._flat_line = saved
        finally:
            self._depth -= 4

    def _too_deep(self) -> None:
        if not self._deep_reported:
            self._deep_reported = True
            self.result.incomplete.append(Incomplete(self.path, "depth", f"over {MAX_DEPTH}"))

    def _line(self, node: Node) -> int:
        if self._flat_line is not None:
            return self._flat_line
        return line_of(node) + self._offset


_WORD_TYPES = frozenset(
    {"word", "string", "raw_string", "ansi_c_string", "concatenation", "simple_expansion",
     "expansion", "command_substitution", "process_substitution", "number", "array",
     "translated_string", "arithmetic_expansion"}
)  # fmt: skip


_CRON_SCHEDULE = re.compile(r"^[ \t]*(?:@\w+|(?:[\d*/,-]+[ \t]+){5})", re.MULTILINE)
_NAME_TYPES = ("variable_name", "special_variable_name")


def _heredoc_pipeline(node: Node) -> Node | None:
    return next((c for c in node.named_children if c.type in ("pipeline", "command")), None)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text


def _file_key(path: str) -> str:
    return path.strip("\"'").removeprefix("./")
