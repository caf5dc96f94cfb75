"""What the JavaScript front end knows about Node APIs: sources, encoders and sinks.

Handlers are keyed by the canonical callee name (`child_process.exec`, `fs.promises.
readFile`, `fetch`), after module aliases are resolved; any other method call passes
the taints of its receiver and arguments through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from scanner.analyzers.behavioral import shell
from scanner.analyzers.behavioral._shellvalues import (
    EMPTY,
    Value,
    classify_path,
    concat,
    is_outside,
    tables,
)
from scanner.analyzers.behavioral.flow import Capability, SinkKind, SourceKind, Step

if TYPE_CHECKING:
    from scanner.analyzers.behavioral.js import JsCall, JsRun

Handler = Callable[["JsRun", "JsCall"], Value]
_SHELL_TRUE = re.compile(r"\bshell\s*:\s*(?:true|['\"]|\w)")
_HANDLE = "\x00handle:"
_OPTION_HOST = re.compile(r"\b(?:url|hostname|host)\s*:\s*[`'\"]([^`'\"]{1,300})")
_ENCODINGS = {"base64": "base64", "base64url": "base64", "hex": "hex"}


def evaluate(run: JsRun, call: JsCall) -> Value:
    """Handle `eval`, `Function`, `vm.*`: the argument runs as code."""
    code = concat(call.args)
    run.capability(Capability.EXECUTE, call.line, f"{call.name} runs code")
    run.sink(SinkKind.EVAL, call.line, f"{call.name} runs code", code, call.name)
    return code.opaque(call.name)


def dynamic_import(run: JsRun, call: JsCall) -> Value:
    """Handle `require(x)` and `import(x)` with a computed name."""
    name = concat(call.args)
    if name.exact:
        return EMPTY
    run.capability(Capability.EXECUTE, call.line, f"{call.name} loads a computed module")
    run.sink(SinkKind.DYNAMIC_IMPORT, call.line, f"{call.name} loads {name.text}", name, None)
    return name.opaque(call.name)


def child_process(run: JsRun, call: JsCall) -> Value:
    """Handle `exec`, `execSync`, `spawn`...: the command line and its output."""
    method = call.name.rsplit(".", 1)[-1]
    options = " ".join(
        node.text.decode("utf-8", "replace")[:300] for node in call.nodes[1:] if node.text
    )
    through_shell = method in ("exec", "execSync") or bool(_SHELL_TRUE.search(options))
    command = concat(call.args[:2], " ")
    kind = SinkKind.SHELL if through_shell else SinkKind.PROCESS
    run.capability(Capability.EXECUTE, call.line, f"{method} {command.text[:120]}")
    run.sink(kind, call.line, f"{method} runs {command.text[:120]}", command, command.text[:200])
    if command.text and not command.text.startswith("\x00"):
        run.result.extend(shell.analyze_command(run.path, command.text, call.line, run.budget))
    secret = classify_path(command.text)
    kind_out = secret or SourceKind.COMMAND_OUTPUT
    out = run.source(kind_out, call.line, f"output of {command.text[:80]}", command.text[:80], "")
    return concat([out, command]).opaque(f"$({method})")


def _request_parts(call: JsCall) -> tuple[Value, Value]:
    """Return (url, payload) of a fetch-like call: first argument, the rest."""
    url = call.args[0] if call.args else EMPTY
    return url, concat(call.args[1:])


def http_send(run: JsRun, call: JsCall, url: Value, payload: Value) -> Value:
    """Record one HTTP request and return its response as a download."""
    dest = host_text(url)
    run.capability(Capability.NETWORK, call.line, f"{call.name} {dest or ''}")
    run.sink(SinkKind.HTTP, call.line, f"{call.name} sends data to {dest}", payload, dest)
    if url.taints and _literal_host(url.text):
        run.sink(SinkKind.HTTP, call.line, f"{call.name} puts data in {dest}", url, dest)
    return run.source(SourceKind.NETWORK, call.line, f"downloads {dest}", dest or "", "")


def _literal_host(text: str) -> bool:
    if "://" not in text:
        return False
    host = text.split("://", 1)[1].split("/", 1)[0]
    return "." in re.sub(r"\$\w+|<[^>]*>|process\.env\.\w+", "", host).strip(".")


def fetch(run: JsRun, call: JsCall) -> Value:
    """Handle `fetch(url, {body, headers})`, got and undici."""
    url, payload = _request_parts(call)
    return http_send(run, call, url, payload)


def axios(run: JsRun, call: JsCall) -> Value:
    """Handle `axios(config)`, `axios.get(url, cfg)`, `axios.post(url, data, cfg)`."""
    method = call.name.rsplit(".", 1)[-1]
    if method in ("axios", "request", "default") or not call.args:
        config = call.args[0] if call.args else EMPTY
        return http_send(run, call, config, config)
    return http_send(run, call, call.args[0], concat(call.args[1:]))


def http_request(run: JsRun, call: JsCall) -> Value:
    """Handle `http(s).request` and `get`: options are sent now, the body on write/end."""
    url = call.args[0] if call.args else EMPTY
    response = http_send(run, call, url, concat(call.args[1:]) if len(call.args) > 1 else url)
    return Value(handle("http", host_text(url)).text, False, response.taints)


def socket(run: JsRun, call: JsCall) -> Value:
    """Handle `net.connect`, `tls.connect`, `new net.Socket`, `new WebSocket`."""
    dest = " ".join(a.text for a in call.args if a.text and not a.text.startswith("\x00"))[:200]
    kind = "ws" if "WebSocket" in call.name else "socket"
    run.capability(Capability.NETWORK, call.line, f"{call.name} {dest}")
    data = run.source(SourceKind.NETWORK, call.line, f"reads from {dest}", dest, "")
    return Value(handle(kind, dest).text, False, data.taints)


def dns(run: JsRun, call: JsCall) -> Value:
    """Handle `dns.lookup` and `dns.resolve*`: a name built from data carries it out."""
    name = call.args[0] if call.args else EMPTY
    run.capability(Capability.NETWORK, call.line, f"{call.name} {name.text[:100]}")
    run.sink(SinkKind.DNS, call.line, f"{call.name} looks up {name.text[:100]}", name, name.text)
    return EMPTY


def read_file(run: JsRun, call: JsCall) -> Value:
    """Handle `fs.readFileSync` and friends."""
    if not call.args:
        return EMPTY
    return read_path(run, call.args[0], call.line)


def write_file(run: JsRun, call: JsCall) -> Value:
    """Handle `fs.writeFileSync`, `appendFile` and friends."""
    if call.args:
        data = concat(call.args[1:2])
        write_path(run, call.args[0], data, call.line)
    return EMPTY


def join_path(run: JsRun, call: JsCall) -> Value:
    """Handle `path.join` and `path.resolve`: the parts joined with `/`."""
    joined = concat(call.args, "/")
    return Value(re.sub(r"/{2,}", "/", joined.text), joined.exact, joined.taints)


def home(run: JsRun, call: JsCall) -> Value:
    """Handle `os.homedir()`."""
    return Value("~")


def system_info(run: JsRun, call: JsCall) -> Value:
    """Handle `os.hostname()`, `os.userInfo()`, `os.networkInterfaces()`."""
    return run.source(SourceKind.COMMAND_OUTPUT, call.line, call.name, call.name, "")


def clipboard(run: JsRun, call: JsCall) -> Value:
    """Handle `clipboardy.read()`."""
    return run.source(SourceKind.CLIPBOARD, call.line, "reads the clipboard", "clipboard", "")


def passthrough(run: JsRun, call: JsCall) -> Value:
    """Handle `JSON.stringify`, `encodeURIComponent`...: data passes unchanged."""
    return concat(call.args)


def encode(run: JsRun, call: JsCall) -> Value:
    """Handle `btoa`: base64."""
    return _transformed(run, call, concat(call.args), "base64")


def decode(run: JsRun, call: JsCall) -> Value:
    """Handle `atob`: base64 decoding (a literal becomes a value of its own)."""
    return _transformed(run, call, concat(call.args), "base64-decode")


def buffer_from(run: JsRun, call: JsCall) -> Value:
    """Handle `Buffer.from(x, encoding)`: decoding when an encoding is named."""
    data = call.args[0] if call.args else EMPTY
    encoding = call.args[1].text if len(call.args) > 1 else ""
    if encoding in _ENCODINGS:
        return _transformed(run, call, data, _ENCODINGS[encoding] + "-decode")
    return data


def _transformed(run: JsRun, call: JsCall, data: Value, name: str) -> Value:
    step = Step(run.path, call.line, "transform", name)
    if name.endswith("-decode") and not data.taints and data.text:
        data = run.source(SourceKind.COMMAND_OUTPUT, call.line, "decodes a literal", "literal", "")
    return data.then(step, name).opaque(f"{call.name}()")


def handle_method(run: JsRun, call: JsCall) -> Value:
    """Handle any other call: handles send, `toString('base64')` encodes, others pass."""
    method = call.name.rsplit(".", 1)[-1]
    opened = handle_of(call.receiver)
    if opened is not None and method in ("write", "end", "send"):
        kind, dest = opened
        sink = SinkKind.SOCKET if kind == "socket" else SinkKind.HTTP
        run.sink(sink, call.line, f"{method} sends data to {dest}", concat(call.args), dest or None)
        return EMPTY
    if method == "toString" and call.args and call.args[0].text in _ENCODINGS:
        return _transformed(run, call, call.receiver, _ENCODINGS[call.args[0].text])
    receiver = call.receiver if not call.receiver.text.startswith("\x00") else EMPTY
    return concat([receiver, *call.args]).opaque(f"{call.name}()")


def host_text(value: Value) -> str | None:
    """Return the URL or host a value names: its text, or `host` of an options object."""
    text = value.text.strip()
    if not text or text.startswith("\x00"):
        return None
    if text.startswith("{"):
        found = _OPTION_HOST.search(text)
        return found.group(1)[:300] if found else None
    return text[:300]


def read_path(run: JsRun, path: Value, line: int) -> Value:
    """Return what reading a file yields: a secret source, a user file, or nothing."""
    text = path.text
    kind = classify_path(text)
    if kind is not None:
        return run.source(kind, line, f"reads {text}", text, f"<{text}>")
    if is_outside(text) and path.exact:
        return run.source(SourceKind.USER_FILE, line, f"reads {text}", text, "")
    return Value(f"<{text}>", False, path.taints)


def write_path(run: JsRun, path: Value, data: Value, line: int) -> None:
    """Record a file write: persistence files are sinks, others capabilities."""
    text = path.text
    run.capability(Capability.WRITE_FILES, line, f"writes {text}")
    if is_outside(text):
        run.capability(Capability.WRITE_OUTSIDE, line, f"writes {text}")
    if tables().persistence.search(text):
        run.capability(Capability.PERSIST, line, f"writes {text}")
        run.sink(SinkKind.PERSISTENCE_WRITE, line, f"writes {text}", data, text)


def handle(kind: str, dest: str | None) -> Value:
    """Return a value standing for an open request or socket."""
    return Value(f"{_HANDLE}{kind}:{dest or ''}", False)


def handle_of(value: Value) -> tuple[str, str] | None:
    """Return (kind, destination) of a request or socket value."""
    if not value.text.startswith(_HANDLE):
        return None
    kind, _, dest = value.text[len(_HANDLE) :].partition(":")
    return kind, dest


def _names(prefixes: tuple[str, ...], methods: tuple[str, ...]) -> list[str]:
    return [f"{prefix}.{method}" for prefix in prefixes for method in methods]


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(
        ("eval", "Function", "new Function", "vm.runInNewContext", "vm.runInThisContext",
         "vm.runInContext", "vm.compileFunction", "new vm.Script", "new Script"),
        evaluate,
    ),
    **dict.fromkeys(("require", "import"), dynamic_import),
    **dict.fromkeys(
        _names(("child_process",), ("exec", "execSync", "spawn", "spawnSync", "execFile",
                                     "execFileSync", "fork")),
        child_process,
    ),
    **dict.fromkeys(("fetch", "node-fetch", "undici.fetch", "undici.request", "got",
                     "got.get", "got.post", "got.put", "node-fetch.default"), fetch),
    **dict.fromkeys(("axios", *_names(("axios",), ("request", "get", "post", "put", "patch",
                                                  "delete", "head", "default"))), axios),
    **dict.fromkeys(_names(("http", "https"), ("request", "get")), http_request),
    **dict.fromkeys(
        ("net.connect", "net.createConnection", "tls.connect", "new net.Socket",
         "new WebSocket", "new ws", "new ws.WebSocket", "dgram.createSocket"),
        socket,
    ),
    **dict.fromkeys(
        _names(("dns", "dns.promises"), ("lookup", "resolve", "resolve4", "resolve6",
                                         "resolveTxt", "resolveAny", "resolveCname", "resolveMx")),
        dns,
    ),
    **dict.fromkeys(
        _names(("fs", "fs.promises"), ("readFileSync", "readFile", "createReadStream")), read_file
    ),
    **dict.fromkeys(
        _names(("fs", "fs.promises"), ("writeFileSync", "writeFile", "appendFileSync",
                                       "appendFile", "createWriteStream")),
        write_file,
    ),
    **dict.fromkeys(_names(("path", "path.posix"), ("join", "resolve", "normalize")), join_path),
    "os.homedir": home,
    **dict.fromkeys(_names(("os",), ("hostname", "userInfo", "networkInterfaces")), system_info),
    **dict.fromkeys(("clipboardy.read", "clipboardy.readSync"), clipboard),
    **dict.fromkeys(("JSON.stringify", "JSON.parse", "encodeURIComponent", "encodeURI",
                     "String", "escape", "decodeURIComponent"), passthrough),
    "btoa": encode,
    "atob": decode,
    "Buffer.from": buffer_from,
}  # fmt: skip
