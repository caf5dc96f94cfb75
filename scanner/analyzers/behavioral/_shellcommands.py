"""What the shell front end knows about individual commands: sources, encoders and sinks.

Each handler takes the walker and one evaluated command, records what it reads,
sends, runs or writes, and returns the command's standard output as a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from scanner.analyzers.behavioral._shellvalues import (
    EMPTY,
    Call,
    Value,
    concat,
    host_of,
)
from scanner.analyzers.behavioral.flow import Capability, SinkKind, SourceKind, Step

if TYPE_CHECKING:
    from scanner.analyzers.behavioral.shell import ShellRun

Handler = Callable[["ShellRun", Call], Value]

_SYSINFO = ("whoami", "hostname", "id", "uname", "ifconfig", "ip", "ps", "history", "w", "who")
_READERS = ("cat", "head", "tail", "tac", "strings", "less", "more", "nl", "tar", "zip")
_FILTERS = ("grep", "egrep", "fgrep", "sed", "awk", "gawk", "jq", "yq", "cut", "sort", "uniq")
_SHELLS = ("sh", "bash", "zsh", "dash", "ksh", "ash", "mksh")
_INTERPRETERS = ("python", "python3", "python2", "perl", "ruby", "node", "nodejs", "php")
_CODE_FLAGS = frozenset({"-c", "-e", "-r", "--eval", "-E", "--command", "-p"})
_ENCODERS = (
    "base64", "base32", "basenc", "uudecode", "xxd", "od", "hexdump", "gzip", "gunzip", "zcat",
    "bzip2", "bunzip2", "xz", "unxz", "zstd", "zstdcat", "openssl", "tr", "rev",
)  # fmt: skip
_SOCKETS = ("nc", "ncat", "netcat", "socat", "telnet")
_LOOKUPS = ("dig", "nslookup", "host", "drill", "ping")
_MAILERS = ("mail", "mailx", "sendmail", "mutt")
_REMOTE = re.compile(r"^(?:[\w.-]+@)?[\w.-]+:(?!//)|^(?:rsync|sftp|scp)://")
_ROT13 = re.compile(r"n-za-m", re.IGNORECASE)
_CURL_TAKES_VALUE = frozenset("dFTHoXuebAKEmrwxyPtU")
_DATA = frozenset(
    {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--json", "--post-data",
     "--body-data", "--data-ascii", "-u", "--user", "--cookie", "-b"}
)  # fmt: skip
_UPLOAD = frozenset({"-T", "--upload-file", "--post-file", "--body-file"})
_FORM = frozenset({"-F", "--form", "--form-string"})
_HEADER = frozenset({"-H", "--header"})
_OUTPUT = frozenset({"-o", "--output", "-O", "--output-document"})
_VALUED = frozenset(
    {"-X", "--request", "-e", "--referer", "-A", "--user-agent", "-K", "--config", "-E",
     "--cert", "-m", "--max-time", "-r", "--range", "-w", "--write-out", "--connect-timeout",
     "--retry", "-x", "--proxy", "--url", "-U", "--proto", "-P", "--directory-prefix", "-t",
     "--tries", "--resolve", "--cacert"}
)  # fmt: skip


class _Http:
    """The parts of a `curl` or `wget` command line that matter."""

    def __init__(self) -> None:
        self.url: Value | None = None
        self.payload: list[Value] = []
        self.headers: list[Value] = []
        self.output: str | None = None
        self.to_stdout = False
        self.remote_name = False


def _http_options(run: ShellRun, call: Call) -> _Http:
    found = _Http()
    args = list(call.args)
    index = 0
    while index < len(args):
        word = args[index].text
        following = args[index + 1] if index + 1 < len(args) else None
        option, value, used = _option(word, following, call.name == "wget")
        index += 1 + used
        if option is None:
            if found.url is None:
                found.url = args[index - 1]
            continue
        _http_option(run, call, found, option, value)
        found.remote_name = found.remote_name or option == "--remote-name"
    wget_default = call.name == "wget" and not found.to_stdout
    if (wget_default or found.remote_name) and found.output is None and found.url is not None:
        found.output = found.url.text.rstrip("/").rsplit("/", 1)[-1] or "index.html"
    return found


def _option(word: str, following: Value | None, wget: bool) -> tuple[str | None, Value | None, int]:
    """Split one word into (option, value, words used after it)."""
    if not word.startswith("-") or word == "-":
        return None, None, 0
    if word.startswith("--"):
        name, eq, rest = word.partition("=")
        if eq:
            return name, Value(rest), 0
        takes = name in _DATA | _UPLOAD | _FORM | _HEADER | _OUTPUT | _VALUED
        return name, following if takes else None, int(takes and following is not None)
    letters = word[1:]
    for position, letter in enumerate(letters):
        if letter in _CURL_TAKES_VALUE or (letter == "O" and wget):
            rest = letters[position + 1 :]
            if rest:
                return f"-{letter}", Value(rest), 0
            return f"-{letter}", following, int(following is not None)
        if letter == "O":
            return "--remote-name", None, 0
    return word, None, 0


def _http_option(run: ShellRun, call: Call, found: _Http, option: str, value: Value | None) -> None:
    if value is None:
        return
    if option in _DATA:
        found.payload.append(_at_file(run, call, value))
    elif option in _UPLOAD:
        found.payload.append(_file_or_stdin(run, call, value))
    elif option in _FORM:
        rest = value.text.partition("=")[2]
        if rest.startswith(("@", "<")):
            found.payload.append(_file_or_stdin(run, call, Value(rest[1:].split(";")[0])))
        else:
            found.payload.append(value)
    elif option in _HEADER:
        found.headers.append(value)
    elif option in _OUTPUT:
        found.output = value.text if value.text != "-" else None
        found.to_stdout = value.text == "-"
    elif option in ("--url",):
        found.url = value


def _at_file(run: ShellRun, call: Call, value: Value) -> Value:
    if value.exact and value.text.startswith("@"):
        return _file_or_stdin(run, call, Value(value.text[1:]))
    return value


def _file_or_stdin(run: ShellRun, call: Call, path: Value) -> Value:
    if path.text in ("-", "."):
        return call.stdin
    return run.read_file(path, call.line)


def http(run: ShellRun, call: Call) -> Value:
    """Handle `curl` and `wget`: what they send, where, and what they download."""
    found = _http_options(run, call)
    url = found.url.text if found.url is not None else None
    run.capability(Capability.NETWORK, call.line, f"{call.name} {url or ''}".strip())
    payload = concat(found.payload)
    run.sink(SinkKind.HTTP, call.line, f"{call.name} sends data to {url}", payload, url)
    if found.headers:
        headers = concat(found.headers)
        run.sink(SinkKind.HTTP, call.line, f"{call.name} sends a header to {url}", headers, url)
    if found.url is not None and _data_in_url(found.url):
        run.sink(SinkKind.HTTP, call.line, f"{call.name} puts data in {url}", found.url, url)
    fetched = run.source(SourceKind.NETWORK, call.line, f"downloads {url}", url or "", "")
    if found.output is not None:
        run.write(Value(found.output), fetched, call.line, False)
        return EMPTY
    return fetched.opaque(f"$({call.name} {url})")


def _data_in_url(url: Value) -> bool:
    """Return True when tainted text sits in a URL whose host is written literally."""
    if not url.taints:
        return False
    text = url.text.strip("\"'")
    if "://" not in text:
        return not text.startswith("$")
    host = text.split("://", 1)[1].split("/", 1)[0]
    literal = re.sub(r"\$\{?\w+\}?|\$\([^)]*\)", "", host)
    return "." in literal.strip(".")


def reader(run: ShellRun, call: Call) -> Value:
    """Handle `cat`, `head`, `tar` and the like: their output is the files they read."""
    files = [a for a in call.operands() if a.text != "-"]
    if not files and call.name not in ("tar", "zip"):
        return call.stdin
    values = [run.read_file(f, call.line) for f in files]
    if not files or any(a.text == "-" for a in call.args):
        values.append(call.stdin)
    transform = "archive" if call.name in ("tar", "zip") else None
    out = concat(values)
    if transform is not None:
        out = out.then(Step(run.path, call.line, "transform", call.name), transform)
    return out.opaque(f"$({call.name})")


def filter_(run: ShellRun, call: Call) -> Value:
    """Handle `grep`, `sed`, `jq`...: the first operand is a program, the rest files."""
    operands = call.operands()[1:]
    values = [run.read_file(f, call.line) for f in operands if f.text != "-"]
    return concat([call.stdin, *values]).opaque(f"$({call.name})")


def echo(run: ShellRun, call: Call) -> Value:
    """Handle `echo` and `printf`: their output is their arguments."""
    words = [a for a in call.args if not (a.text.startswith("-") and len(a.text) <= 3)]
    return concat(words, " ")


def env(run: ShellRun, call: Call) -> Value:
    """Handle `printenv` and `set`/`export -p`: a dump of the environment."""
    names = call.operands()
    if call.name == "printenv" and names:
        return concat(run.lookup(n.text, call.line) for n in names if n.exact)
    listing = bool(call.flags() & {"-p", "-x"}) and not call.operands()
    if call.name in ("set", "export", "declare", "typeset") and call.args and not listing:
        return EMPTY
    return run.env_dump(call)


def keychain(run: ShellRun, call: Call) -> Value:
    """Handle `security find-generic-password` and friends."""
    words = {a.text for a in call.args}
    if words & {"find-generic-password", "find-internet-password", "dump-keychain"}:
        return run.source(SourceKind.KEYCHAIN, call.line, "reads the keychain", "keychain", "")
    return EMPTY


def clipboard(run: ShellRun, call: Call) -> Value:
    """Handle `pbpaste`, `wl-paste`, `xclip -o`, `xsel -o`."""
    reading = call.name in ("pbpaste", "wl-paste") or call.flags() & {"-o", "-out", "--output"}
    if not reading:
        return EMPTY
    return run.source(SourceKind.CLIPBOARD, call.line, "reads the clipboard", "clipboard", "")


def sysinfo(run: ShellRun, call: Call) -> Value:
    """Handle `whoami`, `hostname`, `id`...: system information as output."""
    detail = f"runs {call.name}"
    return run.source(SourceKind.COMMAND_OUTPUT, call.line, detail, call.name, f"$({call.name})")


def _transform_name(call: Call) -> tuple[str, bool]:
    """Return the transform a command applies and whether it decodes."""
    flags = call.flags()
    decode = bool(flags & {"-d", "--decode", "-D", "-r", "--revert"})
    name = call.name
    if name in ("base64", "base32", "basenc", "uudecode"):
        return ("base64-decode" if decode else "base64"), decode
    if name in ("xxd", "od", "hexdump"):
        return ("hex-decode" if decode else "hex"), decode
    if name in ("gunzip", "zcat", "bunzip2", "unxz", "zstdcat"):
        return "gunzip", True
    if name in ("gzip", "bzip2", "xz", "zstd"):
        return ("gunzip" if decode else "gzip"), decode
    if name == "openssl":
        return ("decrypt" if decode else "encrypt"), decode
    if name == "rev":
        return "reverse", True
    rot = any(_ROT13.search(a.text) for a in call.args)
    return ("rot13" if rot else "tr"), rot


def transform(run: ShellRun, call: Call) -> Value:
    """Handle encoders and decoders; a decoded literal becomes a value of its own."""
    if call.name == "openssl" and call.args and call.args[0].text == "s_client":
        return socket(run, call)
    name, decode = _transform_name(call)
    files = [a for a in call.operands() if call.name not in ("tr", "openssl") and a.text != "-"]
    if call.name == "openssl":
        files = [b for a, b in zip(call.args, call.args[1:], strict=False) if a.text == "-in"]
    values = [call.stdin, *(run.read_file(f, call.line) for f in files)]
    data = concat(values)
    step = Step(run.path, call.line, "transform", name)
    if decode and not data.taints and (data.text or files):
        label = "literal" if not files else files[0].text
        data = run.source(SourceKind.COMMAND_OUTPUT, call.line, f"decodes {label}", label, "")
        return data.then(step, name).opaque(f"$({call.name})")
    return data.then(step, name).opaque(f"$({call.name})")


def shell(run: ShellRun, call: Call) -> Value:
    """Handle `sh`, `bash`...: `-c` code, a script file, or code read from stdin."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.text in ("-c", "--command") or (arg.text.startswith("-") and arg.text.endswith("c")):
            code = args[index + 1] if index + 1 < len(args) else EMPTY
            run.execute(SinkKind.SHELL, call, code, f"{call.name} -c runs a command")
            return EMPTY
    script = next((a for a in args if not a.text.startswith("-")), None)
    if script is None or script.text == "-":
        run.execute(SinkKind.SHELL, call, call.stdin.opaque(), f"pipes into {call.name}")
        return EMPTY
    run.run_file(script, call)
    return EMPTY


def interpreter(run: ShellRun, call: Call) -> Value:
    """Handle `python`, `node`, `perl`...: inline code, a script, or stdin."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.text in _CODE_FLAGS:
            code = args[index + 1] if index + 1 < len(args) else EMPTY
            run.execute(SinkKind.EVAL, call, code, f"{call.name} {arg.text} runs code")
            return EMPTY
    script = next((a for a in args if not a.text.startswith("-")), None)
    if script is None or script.text == "-":
        run.execute(SinkKind.EVAL, call, call.stdin.opaque(), f"pipes into {call.name}")
        return EMPTY
    run.run_file(script, call)
    return EMPTY


def eval_(run: ShellRun, call: Call) -> Value:
    """Handle `eval`: its arguments are run as shell code."""
    code = concat(call.args, " ")
    run.execute(SinkKind.EVAL, call, code, "eval runs a command")
    if code.exact and code.text.strip():
        run.nested(code.text, call.line)
    return EMPTY


def source_(run: ShellRun, call: Call) -> Value:
    """Handle `source` and `.`: run a file, or the output of a process substitution."""
    if not call.args:
        return EMPTY
    target = call.args[0]
    if target.taints and not target.exact:
        run.execute(SinkKind.SHELL, call, target, f"{call.name} runs fetched code")
        return EMPTY
    run.run_file(target, call)
    return EMPTY


def socket(run: ShellRun, call: Call) -> Value:
    """Handle `nc`, `socat`, `telnet`: stdin goes to the host named."""
    dest = " ".join(a.text for a in call.operands())[:200] or None
    run.capability(Capability.NETWORK, call.line, f"{call.name} {dest or ''}".strip())
    if any(re.search(r"^-\w*e|EXEC:|SYSTEM:", a.text) for a in call.args):
        run.capability(Capability.EXECUTE, call.line, f"{call.name} runs a program")
    data = concat([call.stdin, *(a for a in call.args if a.taints)])
    run.sink(SinkKind.SOCKET, call.line, f"{call.name} sends data to {dest}", data, dest)
    return run.source(SourceKind.NETWORK, call.line, f"reads from {dest}", dest or "", "")


def lookup(run: ShellRun, call: Call) -> Value:
    """Handle `dig`, `nslookup`, `host`: a name built from data carries it out."""
    names = [a for a in call.operands() if not a.text.startswith("@")]
    run.capability(Capability.NETWORK, call.line, f"{call.name} lookup")
    for name in names:
        if name.taints:
            detail = f"{call.name} looks up {name.text[:120]}"
            run.sink(SinkKind.DNS, call.line, detail, name, name.text[:200])
    return EMPTY


def mail(run: ShellRun, call: Call) -> Value:
    """Handle `mail`, `sendmail`: stdin and the arguments go to the recipients."""
    dest = next((a.text for a in call.args if "@" in a.text), None)
    run.capability(Capability.NETWORK, call.line, f"{call.name} sends mail")
    data = concat([call.stdin, *call.args])
    run.sink(SinkKind.SMTP, call.line, f"{call.name} mails data to {dest}", data, dest)
    return EMPTY


def git(run: ShellRun, call: Call) -> Value:
    """Handle `git push` and `git remote add`: where the repository goes."""
    words = [a for a in call.args if not a.text.startswith("-")]
    verb = words[0].text if words else ""
    if verb == "remote" and len(words) >= 4 and words[1].text in ("add", "set-url"):
        url = words[3]
        run.capability(Capability.NETWORK, call.line, f"git remote {words[1].text} {url.text}")
        run.sink(SinkKind.GIT, call.line, f"git remote points to {url.text}", url, url.text)
    elif verb in ("push", "clone", "fetch", "pull"):
        target = words[1] if len(words) > 1 else EMPTY
        run.capability(Capability.NETWORK, call.line, f"git {verb} {target.text}".strip())
        if verb == "push" and host_of(target.text) is not None:
            run.sink(SinkKind.GIT, call.line, f"git push to {target.text}", target, target.text)
    return EMPTY


def remote_copy(run: ShellRun, call: Call) -> Value:
    """Handle `scp`, `rsync`, `sftp` with a remote destination."""
    operands = [a for a in call.operands() if a.text != "-"]
    if len(operands) < 2 or not _REMOTE.match(operands[-1].text):
        return EMPTY
    dest = operands[-1].text
    run.capability(Capability.NETWORK, call.line, f"{call.name} to {dest}")
    data = concat(run.read_file(src, call.line) for src in operands[:-1])
    run.sink(SinkKind.SOCKET, call.line, f"{call.name} copies files to {dest}", data, dest)
    return EMPTY


def crontab(run: ShellRun, call: Call) -> Value:
    """Handle `crontab FILE` and `crontab -`; `crontab -l` only reads."""
    flags = call.flags()
    files = [a for a in call.operands() if a.text != "-"]
    if flags & {"-l", "-r", "-e"} and not files and "-" not in {a.text for a in call.args}:
        return EMPTY
    data = concat([run.read_file(f, call.line) for f in files] or [call.stdin])
    run.capability(Capability.PERSIST, call.line, "installs a crontab")
    run.sink(SinkKind.PERSISTENCE_WRITE, call.line, "installs a crontab", data, "crontab")
    run.persisted(data, call.line, cron=True)
    return EMPTY


def tee(run: ShellRun, call: Call) -> Value:
    """Handle `tee [-a] FILE...`: stdin goes to each file and on to stdout."""
    append = bool(call.flags() & {"-a", "--append"})
    for target in call.operands():
        run.write(target, call.stdin, call.line, append)
    return call.stdin


def copy(run: ShellRun, call: Call) -> Value:
    """Handle `cp`, `mv`, `install`, `ln`: the destination gets the source's data."""
    operands = call.operands()
    if len(operands) < 2:
        return EMPTY
    data = concat(run.read_file(src, call.line) for src in operands[:-1])
    run.write(operands[-1], data, call.line, False)
    return EMPTY


def service(run: ShellRun, call: Call) -> Value:
    """Handle `systemctl enable` and `launchctl load`: start-up persistence."""
    words = {a.text for a in call.args}
    if words & {"enable", "load", "bootstrap", "daemon-reload"}:
        run.capability(Capability.PERSIST, call.line, f"{call.name} registers a service")
    return EMPTY


def read(run: ShellRun, call: Call) -> Value:
    """Handle `read VAR`: the variable gets stdin, or what the user types.

    Only a `read` with nothing piped or redirected in waits for the user: `read A B <<< "$x"`
    splits a variable the script already holds, and keeps that variable's taints.
    """
    names = [a.text for a in call.operands() if a.exact and re.fullmatch(r"\w+", a.text)]
    skip = {a.text for a, b in zip(call.args, call.args[1:], strict=False) if a.text == "-p"}
    value = call.stdin
    if value == EMPTY:
        value = run.source(SourceKind.USER_INPUT, call.line, "reads user input", "stdin", "")
    for name in names:
        if name not in skip:
            run.env[name] = value.opaque(f"${name}")
    return EMPTY


def export(run: ShellRun, call: Call) -> Value:
    """Handle `export NAME=value` written as a plain command."""
    for arg in call.args:
        name, eq, _ = arg.text.partition("=")
        if eq and re.fullmatch(r"\w+", name):
            run.env[name] = Value(arg.text[len(name) + 1 :], arg.exact, arg.taints)
    if not call.args or call.flags() & {"-p"}:
        return env(run, call)
    return EMPTY


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(("curl", "wget"), http),
    **dict.fromkeys(_READERS, reader),
    **dict.fromkeys(_FILTERS, filter_),
    **dict.fromkeys(("echo", "printf"), echo),
    **dict.fromkeys(("printenv", "set", "declare", "typeset", "compgen"), env),
    "export": export,
    "security": keychain,
    **dict.fromkeys(("pbpaste", "wl-paste", "xclip", "xsel"), clipboard),
    **dict.fromkeys(_SYSINFO, sysinfo),
    **dict.fromkeys(_ENCODERS, transform),
    **dict.fromkeys(_SHELLS, shell),
    **dict.fromkeys(_INTERPRETERS, interpreter),
    "eval": eval_,
    **dict.fromkeys(("source", "."), source_),
    **dict.fromkeys(_SOCKETS, socket),
    **dict.fromkeys(_LOOKUPS, lookup),
    **dict.fromkeys(_MAILERS, mail),
    "git": git,
    **dict.fromkeys(("scp", "rsync", "sftp"), remote_copy),
    "crontab": crontab,
    "tee": tee,
    **dict.fromkeys(("cp", "mv", "install", "ln"), copy),
    **dict.fromkeys(("systemctl", "launchctl"), service),
    "read": read,
}
