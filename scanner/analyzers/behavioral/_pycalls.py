"""Library calls in the Python front end: which create sources, transform data or are sinks.

`CallsMixin.library_call` first checks the call as a sink (recording a flow
for every label that reaches the data it sends, runs or writes), then computes
what the call returns: a fresh source, transformed data, or by default the
union of its receiver and arguments.
"""

from __future__ import annotations

import ast
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from scanner.analyzers._vendors import sdk_secret
from scanner.analyzers.behavioral import _pycatalog as cat
from scanner.analyzers.behavioral._pyindex import Scope
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
from scanner.analyzers.behavioral.flow import (
    Capability,
    CapabilityUse,
    Flow,
    LanguageResult,
    SinkKind,
    SourceKind,
    Step,
)

SECRET_SOURCES = frozenset(
    {SourceKind.ENV, SourceKind.CREDENTIAL_FILE, SourceKind.AGENT_CONFIG,
     SourceKind.BROWSER_STORE, SourceKind.KEYCHAIN, SourceKind.CLIPBOARD, SourceKind.USER_FILE}
)  # fmt: skip
_IGNORED_KWARGS = frozenset(
    {"timeout", "check", "text", "encoding", "mode", "shell", "capture_output", "env", "cwd",
     "verify", "stream", "errors"}
)  # fmt: skip
_PLACEHOLDER = re.compile(r"\{[^{}]{0,40}\}")
_PERSIST_CMD = re.compile(
    r"\bcrontab\b(?!\s+-l\b)|launchctl\s+(?:load|bootstrap)|systemctl\s+(?:--user\s+)?enable"
    r"|schtasks\s+/create|CurrentVersion\\+Run",
    re.IGNORECASE,
)
_OPENERS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
_MIN_ENCODED = 16
# A path part whose input is followed by a literal name ending, such as f"{name}-crud.ts":
# the input can still climb folders but cannot pick which file it overwrites.
_FIXED_NAME = re.compile(r"\*[^*/\\]*\.[A-Za-z0-9]{1,10}$")
_CONSTANT_FILE = re.compile(r"^[^*/\\]+\.[A-Za-z0-9]{1,10}$")
_HOST = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$", re.IGNORECASE)


@dataclass(frozen=True)
class CallInfo:
    """One call being evaluated: its names, receiver and argument values."""

    node: ast.Call
    name: str
    """Canonical dotted name, '' for a method called on a value."""
    method: str
    receiver: Value
    args: list[Value]
    kwargs: dict[str, Value]
    path: str

    @property
    def short(self) -> str:
        """Return the last part of the called name."""
        return self.method or self.name.rsplit(".", 1)[-1]

    @property
    def line(self) -> int:
        """Return the call's line."""
        return self.node.lineno

    def arg(self, index: int, *keywords: str) -> Value:
        """Return a positional argument, or the first keyword given, or EMPTY."""
        if index < len(self.args):
            return self.args[index]
        for keyword in keywords:
            if keyword in self.kwargs:
                return self.kwargs[keyword]
        return EMPTY

    def arg_node(self, index: int, *keywords: str) -> ast.expr | None:
        """Return the syntax of a positional or keyword argument."""
        if index < len(self.node.args):
            return self.node.args[index]
        for keyword in self.node.keywords:
            if keyword.arg in keywords:
                return keyword.value
        return None

    def data(self) -> Value:
        """Return the union of every argument that may carry data."""
        kept = [v for k, v in self.kwargs.items() if k not in _IGNORED_KWARGS]
        return merge_all([*self.args, *kept])


class CallsMixin(ABC):
    """Sources, transforms and sinks of library calls (mixed into the evaluator)."""

    def __init__(self, result: LanguageResult) -> None:
        self.result = result
        self.patterns = cat.patterns()
        self._flow_keys: set[tuple[object, ...]] = set()
        self._capability_keys: set[tuple[object, ...]] = set()

    # Provided by the evaluator (`_pyeval.Evaluator`), the one concrete subclass.
    @abstractmethod
    def eval(self, node: ast.expr, depth: int = 0) -> Value:
        """Return what may flow through an expression."""

    @abstractmethod
    def canonical(self, node: ast.expr) -> str:
        """Return the dotted name of an expression, or ''."""

    @abstractmethod
    def has_containment(self) -> bool:
        """Return True when the current scope checks paths stay in a folder."""

    @abstractmethod
    def _assign(self, target: ast.expr, value: Value, line: int) -> None:
        """Bind what `value` may hold to an assignment target."""

    @abstractmethod
    def _current(self) -> Scope:
        """Return the scope being evaluated."""

    # -- records ------------------------------------------------------------------------

    def source(self, kind: SourceKind, name: str, line: int, detail: str) -> Value:
        """Return a fresh source value, noting a secret read as a capability."""
        path = self._current().path
        if kind in SECRET_SOURCES:
            self.capability(Capability.READ_SECRETS, path, line, detail)
        return source_value(Label(kind, name, (Step(path, line, "source", detail),)))

    def capability(self, capability: Capability, path: str, line: int, detail: str) -> None:
        """Record one use of a capability (once per place)."""
        key = (capability, path, line)
        if key not in self._capability_keys:
            self._capability_keys.add(key)
            self.result.capabilities.append(CapabilityUse(capability, path, line, detail))

    def flows(
        self,
        value: Value,
        sink: SinkKind,
        call: CallInfo,
        detail: str,
        destination: str | None = None,
        qualifiers: tuple[str, ...] = (),
    ) -> None:
        """Record a flow for every label that reaches a sink."""
        step = Step(call.path, call.line, "sink", detail)
        for label in value.labels.values():
            key = (label.key, sink, call.path, call.line)
            if key in self._flow_keys:
                continue
            self._flow_keys.add(key)
            flow = Flow(
                source=label.source,
                sink=sink,
                steps=(*label.steps, step),
                language="python",
                transforms=label.transforms,
                destination=destination,
                origin=label.name or None,
                qualifiers=qualifiers,
            )
            self.result.flows.append(flow)

    # -- entry point --------------------------------------------------------------------

    def library_call(self, call: CallInfo) -> Value:
        """Check a library call as a sink, then return what it produces."""
        self._network_sink(call)
        self._exec_sink(call)
        self._eval_sink(call)
        self._write_sink(call)
        self._mutate(call)
        for handler in (
            self._source_call,
            self._network_call,
            self._command_call,
            self._file_call,
            self._string_call,
            self._transform_call,
        ):
            value = handler(call)
            if value is not None:
                return value
        return self._propagate(call)

    # -- sources ------------------------------------------------------------------------

    def env_read(self, key: Value, line: int) -> Value:
        """Return the value of reading one environment variable."""
        secret = sorted(name for name in key.strings if cat.SECRET_ENV.search(name))
        if secret:
            names = ", ".join(secret[:4])
            return self.source(SourceKind.ENV, names, line, f"environment variable {names}")
        if key.strings & cat.HOME_ENV:
            return text_value("~")
        return EMPTY

    def _source_call(self, call: CallInfo) -> Value | None:
        name, line = call.name, call.line
        if name in cat.ENV_READERS:
            return self.env_read(call.arg(0, "key"), line)
        if name == "pathlib.Path.home":
            return text_value("~")
        if name in ("os.path.expanduser", "os.path.expandvars", "os.path.abspath"):
            return _home(call.arg(0))
        if call.method in ("expanduser", "resolve", "absolute", "expandvars"):
            return _home(call.receiver)
        if name in cat.INPUT_CALLS or call.method in cat.INPUT_METHODS:
            return self.source(SourceKind.USER_INPUT, call.short, line, f"{call.short}()")
        if name in cat.CLIPBOARD_CALLS or call.method in cat.CLIPBOARD_METHODS:
            return self.source(SourceKind.CLIPBOARD, call.short, line, f"clipboard: {call.short}")
        if name in cat.KEYCHAIN_CALLS:
            return self.source(SourceKind.KEYCHAIN, name, line, f"keychain: {name}")
        imported = {full.split(".")[0] for full in self._current().module.imports.values()}
        sdk = sdk_secret((call.method, name), imported)
        if sdk is not None:
            # NOTE: as the variable it stands for, so a vendor's own host is judged the same.
            return self.source(SourceKind.ENV, sdk, line, f"cloud credentials: {call.short}")
        if name.split(".")[0] in cat.BROWSER_MODULES:
            return self.source(SourceKind.BROWSER_STORE, name, line, f"browser store: {name}")
        return None

    def _network_call(self, call: CallInfo) -> Value | None:
        if call.name in cat.CLIENT_TAGS:
            tag = cat.CLIENT_TAGS[call.name]
            return Value(tags=frozenset({tag}), strings=call.arg(0, "host").strings)
        kind = self._network_kind(call)
        if kind is None:
            if call.method.startswith("recv") and "socket" in call.receiver.tags:
                return self.source(SourceKind.NETWORK, "socket", call.line, "data received")
            return None
        if kind is SinkKind.DNS:
            return EMPTY
        where = self._destination(call) or "a computed address"
        return self.source(SourceKind.NETWORK, where, call.line, f"response from {where}")

    def _command_call(self, call: CallInfo) -> Value | None:
        name = call.name
        if name not in cat.SHELL_CALLS and name not in cat.SUBPROCESS_CALLS:
            return None
        if name == "os.system":
            return EMPTY
        command = self._command_text(call)
        kind = self.patterns.command_source(command) or SourceKind.COMMAND_OUTPUT
        return self.source(kind, command[:120], call.line, f"output of `{command[:80]}`")

    def _file_call(self, call: CallInfo) -> Value | None:
        if self._opens_for_write(call):
            return Value(tags=frozenset({"write"}), strings=self._path_value(call).strings)
        reads = call.name in cat.READ_CALLS or (
            call.method in cat.READ_METHODS and "write" not in call.receiver.tags
        )
        lists = call.name in cat.LIST_CALLS or call.method in cat.LIST_METHODS
        if call.name in ("os.path.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"):
            return self.path_join(call.args, call.line)
        if call.method == "joinpath":
            return self.path_join([call.receiver, *call.args], call.line)
        if not reads and not lists:
            return None
        path = self._path_value(call)
        found = self._path_sources(path.strings, call, listing=lists)
        return found.merge(path.only_labels()).merge(call.data().only_labels())

    def _path_sources(self, paths: frozenset[str], call: CallInfo, *, listing: bool) -> Value:
        values = []
        for path in sorted(paths):
            kind = self.patterns.file_source(path)
            if kind is not None:
                values.append(self.source(kind, path, call.line, f"reads {path}"))
            elif listing and path.startswith("~"):
                values.append(self.source(SourceKind.USER_FILE, path, call.line, f"lists {path}"))
            elif not listing and call.short in ("open", "read_text", "read_bytes") and path != "*":
                values.append(self.source(SourceKind.FILE, path, call.line, f"reads {path}"))
        return merge_all(values)

    def path_join(self, parts: list[Value], line: int) -> Value:
        """Return a path built from parts; tainted later parts are marked `path_join`."""
        if not parts:
            return EMPTY
        strings = parts[0].strings
        result = parts[0].only_labels()
        # NOTE: under a folder the user chose (an output folder, a walked tree) there is
        # no fixed folder to escape: later parts join without the `path_join` mark.
        chosen = any(label.source is SourceKind.USER_INPUT for label in parts[0].labels.values())
        for part in parts[1:]:
            strings = concat(strings, part.strings, "/")
            step = Step(self._current().path, line, "transform", "joined into a path")
            if not part.labels:
                continue
            if chosen:
                result = result.merge(part.only_labels())
                continue
            joined = part.transformed("path_join", step)
            if part.strings and all(_FIXED_NAME.search(text) for text in part.strings):
                joined = joined.transformed("fixed_name", step)
            result = result.merge(joined)
        last = parts[-1]
        # NOTE: `base / name / "SKILL.md"`: the code, not the input, names the file.
        constant = bool(last.strings) and all(_CONSTANT_FILE.search(t) for t in last.strings)
        if len(parts) > 1 and not last.labels and constant:
            step = Step(self._current().path, line, "transform", "joined into a path")
            result = result.transformed("fixed_name", step)
        return result.with_strings(strings).with_tags({"pathlike"})

    # -- strings and transforms ---------------------------------------------------------

    def _string_call(self, call: CallInfo) -> Value | None:
        method, receiver = call.method, call.receiver
        if call.name in ("str", "repr", "bytes", "bytearray", "list", "tuple", "dict", "set"):
            return merge_all(call.args).only_labels().with_strings(call.arg(0).strings)
        if call.name in cat.HTTP_DATA_ONLY:
            # NOTE: a prepared request keeps its URL, so `urlopen(req)` knows the host.
            data = merge_all([*call.args, *call.kwargs.values()]).only_labels()
            return data.with_strings(call.arg(0, "url").strings)
        if not method or call.name:
            return None
        step = Step(call.path, call.line, "transform", method)
        if method == "format":
            data = merge_all([*call.args, *call.kwargs.values()]).only_labels()
            built = data.transformed("format", step) if data.labels else data
            strings = {_PLACEHOLDER.sub(UNKNOWN, text) for text in receiver.strings}
            return receiver.only_labels().merge(built).with_strings(strings)
        if method == "join":
            data = call.arg(0).only_labels()
            built = data.transformed("join", step) if data.labels else data
            return receiver.only_labels().merge(built).with_strings(call.arg(0).strings)
        if method in ("encode", "decode"):
            return self._codec(call, step)
        return None

    def _codec(self, call: CallInfo, step: Step) -> Value:
        codec = {text.lower().replace("-", "_") for text in call.arg(0, "encoding").strings}
        receiver = call.receiver
        if codec & {"rot13", "rot_13"}:
            return receiver.transformed("rot13", step)
        if codec & {"hex", "base64", "zlib", "bz2"} and receiver.labels:
            return receiver.transformed(sorted(codec)[0], step)
        return Value(receiver.labels, receiver.strings)

    def _transform_call(self, call: CallInfo) -> Value | None:
        name, short = call.name, call.short
        step = Step(call.path, call.line, "transform", name or short)
        if name in cat.SANITIZERS:
            return merge_all(call.args).transformed("shell_quote", step)
        if name in cat.PATH_SANITIZERS:
            return merge_all(call.args).transformed("basename", step)
        if name in cat.HASHES:
            return EMPTY
        kind = cat.TRANSFORMS.get(short)
        if kind is None or not self._is_transform_call(call):
            return None
        data = merge_all([*call.args, call.receiver]) if call.method else merge_all(call.args)
        if kind == "decode":
            return self._decoded(call, data, step)
        if short == "dump":
            return EMPTY
        return data.transformed(_transform_name(kind, name), step)

    def _is_transform_call(self, call: CallInfo) -> bool:
        if call.name:
            return call.name.split(".")[0] in cat.TRANSFORM_MODULES or call.short == "hex"
        return call.method in ("encrypt", "encrypt_and_digest", "hex", "fromhex", "seal")

    def _decoded(self, call: CallInfo, data: Value, step: Step) -> Value:
        kind = _transform_name("decode", call.name) if call.name else "decode"
        if data.labels:
            return data.transformed(kind, step)
        blob = max(data.strings, key=len, default="")
        if len(blob) < _MIN_ENCODED:
            return EMPTY
        detail = f"literal decoded by {call.name or call.short}"
        found = self.source(SourceKind.ENCODED_LITERAL, blob[:40], call.line, detail)
        return found.transformed(kind, step)

    def _propagate(self, call: CallInfo) -> Value:
        if call.name in cat.CLEAN_CALLS or call.short in cat.CLEAN_METHODS:
            return EMPTY
        data = call.data().only_labels()
        if call.method:
            return data.merge(call.receiver.only_labels()).with_strings(call.receiver.strings)
        return data.with_strings(call.arg(0).strings)

    def _mutate(self, call: CallInfo) -> None:
        """Merge what `x.append(v)` or `zf.write(path)` puts into `x` into `x` itself."""
        func = call.node.func
        if not isinstance(func, ast.Attribute) or call.name:
            return
        archived = call.method in ("write", "add") and "write" not in call.receiver.tags
        if call.method not in cat.MUTATORS and not archived:
            return
        data = call.data()
        if archived:
            data = data.merge(self._path_sources(call.arg(0).strings, call, listing=False))
        if data.labels:
            self._assign(func.value, data.only_labels(), call.line)

    # -- sinks --------------------------------------------------------------------------

    def _network_kind(self, call: CallInfo) -> SinkKind | None:
        if call.name in cat.NETWORK_CALLS:
            return cat.NETWORK_CALLS[call.name]
        for tag in sorted(call.receiver.tags):
            methods, kind = cat.TAG_METHODS.get(tag, (frozenset(), SinkKind.HTTP))
            if call.method in methods:
                return kind
        return None

    def _destination(self, call: CallInfo) -> str | None:
        candidates = [*call.arg(0, "url", "host").strings, *call.receiver.strings]
        if call.method == "request":
            candidates = [*call.arg(1, "url").strings, *candidates]
        for text in sorted(candidates, key=lambda t: ("://" not in t, t)):
            if "://" in text or _HOST.match(text):
                return text
        return None

    def _network_sink(self, call: CallInfo) -> None:
        kind = self._network_kind(call)
        if kind is None:
            return
        label = call.name or f"{call.method}()"
        self.capability(Capability.NETWORK, call.path, call.line, label)
        if kind is SinkKind.DNS:
            self.flows(call.arg(0, "qname", "host"), kind, call, f"DNS lookup by {label}")
            return
        data = call.data().merge(call.receiver.only_labels())
        where = self._destination(call)
        self.flows(data, kind, call, f"{label} to {where or 'a computed address'}", where)

    def _exec_sink(self, call: CallInfo) -> None:
        name = call.name
        if name in cat.SHELL_CALLS:
            self.capability(Capability.EXECUTE, call.path, call.line, name)
            command = call.arg(0, "command", "cmd", "args")
            text = self._command_text(call)
            self.flows(command, SinkKind.SHELL, call, f"{name} runs a shell command", text)
            self._persistence_command(call, command)
        elif name in cat.SUBPROCESS_CALLS or name.startswith(cat.EXEC_PREFIXES):
            self.capability(Capability.EXECUTE, call.path, call.line, name)
            self._subprocess_sink(call)

    def _subprocess_sink(self, call: CallInfo) -> None:
        first = call.arg_node(0, "args", "cmd")
        shell = next((k.value for k in call.node.keywords if k.arg == "shell"), None)
        if shell is not None and not (isinstance(shell, ast.Constant) and not shell.value):
            detail, text = f"{call.name} with shell=True", self._command_text(call)
            self.flows(call.arg(0, "args"), SinkKind.SHELL, call, detail, text)
        elif isinstance(first, ast.List | ast.Tuple) and first.elts:
            self._argv_sink(call, [self.eval(element) for element in first.elts])
        elif first is not None and not call.name.startswith(cat.EXEC_PREFIXES):
            detail = f"{call.name} runs an argument list built at run time"
            self.flows(call.arg(0, "args"), SinkKind.PROCESS, call, detail, None, ("argv_runtime",))
        else:
            self.flows(merge_all(call.args), SinkKind.PROCESS, call, f"{call.name} runs a program")
        self._persistence_command(call, call.kwargs.get("input", EMPTY))

    def _argv_sink(self, call: CallInfo, argv: list[Value]) -> None:
        head = argv[0].strings
        flag = argv[1].strings if len(argv) > 1 else frozenset()
        if head and head <= cat.SHELLS and len(argv) > 2 and flag & {"-c", "/c", "-Command"}:
            text = " ".join(sorted(v.strings or {UNKNOWN})[0] for v in argv[2:3])
            self.flows(argv[2], SinkKind.SHELL, call, f"{sorted(head)[0]} -c runs a command", text)
            return
        text = self._command_text(call)
        self.flows(
            argv[0], SinkKind.PROCESS, call, f"{call.name} runs a program named by data", text
        )
        if head and head <= cat.SHELLS:
            self.flows(call.kwargs.get("input", EMPTY), SinkKind.SHELL, call, "script on stdin")
        words = {text for value in argv[1:] for text in value.strings}
        if head == {"git"} and words & cat.GIT_REMOTE_VERBS:
            verb = sorted(words & cat.GIT_REMOTE_VERBS)[0]
            self.flows(merge_all(argv[1:]), SinkKind.GIT, call, f"git {verb}")

    def _persistence_command(self, call: CallInfo, data: Value) -> None:
        command = self._command_text(call)
        if not _PERSIST_CMD.search(command):
            return
        self.capability(Capability.PERSIST, call.path, call.line, f"runs `{command[:80]}`")
        detail = f"`{command[:60]}` installs it"
        self.flows(data, SinkKind.PERSISTENCE_WRITE, call, detail, command[:200])

    def _command_text(self, call: CallInfo) -> str:
        first = call.arg_node(0, "args", "cmd", "command")
        if isinstance(first, ast.List | ast.Tuple):
            words = [sorted(self.eval(e).strings or {UNKNOWN})[0] for e in first.elts[:20]]
            return " ".join(words)
        strings = sorted(call.arg(0, "args", "cmd", "command").strings, key=len, reverse=True)
        return strings[0] if strings else UNKNOWN

    def _eval_sink(self, call: CallInfo) -> None:
        name = call.name
        code = call.arg_node(0, "source", "name")
        if code is None or _is_literal(code):
            return
        if name in cat.EVAL_CALLS:
            self.capability(Capability.EXECUTE, call.path, call.line, name)
            qualifiers = ("restricted_builtins",) if _restricts_builtins(call) else ()
            self.flows(
                call.arg(0), SinkKind.EVAL, call, f"{name}() runs the data", None, qualifiers
            )
        elif name in cat.UNPICKLE_CALLS:
            detail = f"{name}() runs code in the data"
            self.flows(call.arg(0), SinkKind.EVAL, call, detail, None, ("deserialize",))
        elif name in cat.IMPORT_CALLS:
            self.flows(call.arg(0), SinkKind.DYNAMIC_IMPORT, call, f"{name}() imports by name")
        elif name == "getattr" and len(call.node.args) >= 2 and not _is_literal(call.node.args[1]):
            owner = self.canonical(call.node.args[0]).split(".")[0]
            extra = ("dangerous_owner",) if owner in cat.DANGEROUS_OWNERS else ()
            detail = "getattr() with a computed name"
            self.flows(
                call.arg(1), SinkKind.DYNAMIC_IMPORT, call, detail, None, ("getattr", *extra)
            )

    def _write_sink(self, call: CallInfo) -> None:
        target = self._write_target(call)
        if target is None:
            return
        path, data = target
        self.capability(Capability.WRITE_FILES, call.path, call.line, "writes a file")
        paths = sorted(path.strings)
        if any(self.patterns.is_outside(text) for text in paths):
            self.capability(Capability.WRITE_OUTSIDE, call.path, call.line, f"writes {paths[0]}")
        persistent = [text for text in paths if self.patterns.persistence.search(text)]
        if persistent:
            where = persistent[0]
            self.capability(Capability.PERSIST, call.path, call.line, f"writes {where}")
            self.flows(data, SinkKind.PERSISTENCE_WRITE, call, f"written to {where}", where)
        self._traversal(call, path)

    def _traversal(self, call: CallInfo, path: Value) -> None:
        joined = [
            label
            for label in path.labels.values()
            if label.source is SourceKind.USER_INPUT
            and "path_join" in label.transforms
            and "basename" not in label.transforms
        ]
        if not joined:
            return
        qualifiers: tuple[str, ...] = ("path", "contained") if self.has_containment() else ("path",)
        if all("fixed_name" in label.transforms for label in joined):
            qualifiers = (*qualifiers, "fixed_name")
        value = Value({label.key: label for label in joined})
        detail = "a write to a path joined with program input"
        self.flows(value, SinkKind.FILE_WRITE, call, detail, None, qualifiers)

    def _write_target(self, call: CallInfo) -> tuple[Value, Value] | None:
        receiver, data = call.receiver, merge_all(call.args)
        if "write" in receiver.tags and call.method in cat.WRITE_METHODS:
            return receiver, data
        if call.method in cat.PATH_WRITE_METHODS:
            return receiver, data
        if call.name in cat.DUMP_CALLS and len(call.args) > 1 and "write" in call.args[1].tags:
            return call.args[1], call.args[0]
        if call.name == "print" and "write" in call.kwargs.get("file", EMPTY).tags:
            return call.kwargs["file"], data
        if call.name in cat.COPY_CALLS and len(call.args) > 1:
            source = self._path_sources(call.args[0].strings, call, listing=False)
            return call.args[1], call.args[0].merge(source)
        if self._opens_for_write(call):
            return self._path_value(call), EMPTY
        return None

    def _opens_for_write(self, call: CallInfo) -> bool:
        if call.name in _OPENERS:
            mode = call.arg_node(1, "mode")
        elif call.method == "open" and not call.name:
            mode = call.arg_node(0, "mode")
        else:
            return False
        return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")

    def _path_value(self, call: CallInfo) -> Value:
        if call.method and not call.name:
            return call.receiver
        return call.arg(0, "file", "path")


def _home(value: Value) -> Value:
    strings = {"~" + text[5:] if text.startswith("$HOME") else text for text in value.strings}
    return value.with_strings(strings)


def _transform_name(kind: str, name: str) -> str:
    root = name.split(".")[0] if name else ""
    if kind == "compress" and root in ("zlib", "gzip", "bz2", "lzma"):
        return root
    if kind == "serialize" and root in ("json", "pickle", "marshal", "yaml"):
        return root
    if kind == "decode" and root:
        return f"{root}-decode"
    return kind


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.JoinedStr) and all(
        isinstance(part, ast.Constant) for part in node.values
    )


def _restricts_builtins(call: CallInfo) -> bool:
    scope = call.arg_node(1, "globals")
    if not isinstance(scope, ast.Dict):
        return False
    return any(isinstance(k, ast.Constant) and k.value == "__builtins__" for k in scope.keys)
