"""Read Python bytecode (``.pyc``) without running it: header, version, and what it names.

The header's magic number names the Python version. When it is the version of this
interpreter, the code object is loaded with `marshal` (which builds objects and never
runs them; the files analyzer runs in the sandbox worker, so a loader bug costs one
worker, not the server) and walked for the modules it imports, the risky functions it
names and its string constants. Bytecode of another version is read by a tolerant
scan of the marshal stream for the strings it holds. Nothing here raises: a header
that names no known version, or data that does not load, comes back as `error`.
"""

from __future__ import annotations

import dis
import importlib.util
import marshal
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import CodeType

MAX_PYC_BYTES = 4 * 1024 * 1024
MAX_CODE_OBJECTS = 5_000
MAX_STRINGS = 5_000
MAX_STRING_CHARS = 4_096
MAX_EVIDENCE = 20

# Ranges of CPython magic numbers, by release (two-byte little-endian value).
_VERSIONS = (
    (3000, 3139, "3.0"),
    (3140, 3159, "3.1"),
    (3160, 3189, "3.2"),
    (3190, 3249, "3.3"),
    (3250, 3319, "3.4"),
    (3320, 3359, "3.5"),
    (3360, 3389, "3.6"),
    (3390, 3399, "3.7"),
    (3400, 3419, "3.8"),
    (3420, 3429, "3.9"),
    (3430, 3449, "3.10"),
    (3450, 3499, "3.11"),
    (3500, 3549, "3.12"),
    (3550, 3599, "3.13"),
    (3600, 3699, "3.14"),
)
_LEGACY = {62211: "2.7", 62161: "2.6"}
NETWORK_MODULES = frozenset(
    {"socket", "urllib", "urllib2", "urllib3", "http", "httplib", "requests", "httpx",
     "aiohttp", "ftplib", "smtplib", "telnetlib", "paramiko", "websocket", "websockets",
     "dns", "pycurl"}
)  # fmt: skip
EXEC_MODULES = frozenset(
    {"subprocess", "pty", "ctypes", "runpy", "marshal", "pickle", "code", "codeop", "commands",
     "pexpect", "cffi"}
)  # fmt: skip
RISKY_NAMES = frozenset(
    {"eval", "exec", "compile", "__import__", "system", "popen", "Popen", "check_output",
     "check_call", "execv", "execve", "execvp", "spawnv", "urlopen", "b64decode",
     "decompress", "loads", "create_connection", "connect"}
)  # fmt: skip
_URL = re.compile(r"\b(?:https?|ftp|wss?)://[^\s'\"<>]{3,200}", re.IGNORECASE)
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_SECRET_PATH = re.compile(
    r"\.ssh\b|id_rsa|id_ed25519|\.aws/credentials|\.aws\b|\.netrc|\.kube/config|\.docker/config"
    r"|\.git-credentials|/etc/(?:passwd|shadow)|\.gnupg|\.env\b|Login Data|keychain|wallet"
    r"|\.npmrc|\.pypirc",
    re.IGNORECASE,
)
# Marshal type codes of strings, with or without the reference flag (0x80).
_SHORT_STR = re.compile(rb"[zZ\xda\xfa]")
_LONG_STR = re.compile(rb"[auAt\xe1\xf5\xc1\xf4]")
_PRINTABLE = re.compile(rb"[\x20-\x7e]+")


@dataclass
class BytecodeReport:
    """What a ``.pyc`` holds, as far as it could be read."""

    magic: int | None = None
    version: str | None = None
    hash_based: bool = False
    check_source: bool = True
    method: str = "none"
    imports: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def network(self) -> list[str]:
        """Return the imported modules that reach the network."""
        return [name for name in self.imports if _top(name) in NETWORK_MODULES]

    @property
    def execution(self) -> list[str]:
        """Return the imported modules that run code or commands."""
        return [name for name in self.imports if _top(name) in EXEC_MODULES]

    @property
    def urls(self) -> list[str]:
        """Return URLs and dotted IPv4 addresses found in the string constants."""
        found = [m.group() for s in self.strings for m in _URL.finditer(s)]
        found += [m.group() for s in self.strings if not _URL.search(s) for m in _IPV4.finditer(s)]
        return _unique(found)[:MAX_EVIDENCE]

    @property
    def secret_paths(self) -> list[str]:
        """Return string constants that name credential stores."""
        return _unique(s[:200] for s in self.strings if _SECRET_PATH.search(s))[:MAX_EVIDENCE]

    @property
    def risky_names(self) -> list[str]:
        """Return the names of risky functions the code refers to."""
        return sorted(set(self.names) & RISKY_NAMES)


def read_pyc(data: bytes) -> BytecodeReport:
    """Return what the ``.pyc`` in `data` imports, names and holds; never raise."""
    report = BytecodeReport()
    if len(data) < 8 or data[2:4] != b"\r\n":
        report.error = "no Python bytecode header"
        return report
    report.magic = int.from_bytes(data[:2], "little")
    report.version = python_version(report.magic)
    if report.version is None:
        report.error = f"unknown bytecode magic number {report.magic}"
        return report
    release = _release(report.version)
    flags = int.from_bytes(data[4:8], "little") if release >= (3, 7) else 0
    report.hash_based, report.check_source = bool(flags & 1), bool(flags & 2) or not flags & 1
    body = data[16 if release >= (3, 7) else 12 if release >= (3, 3) else 8 :]
    if data[:4] == importlib.util.MAGIC_NUMBER and len(data) <= MAX_PYC_BYTES:
        _load(body, report)
    else:
        _scan_strings(body[:MAX_PYC_BYTES], report)
    return report


def python_version(magic: int) -> str | None:
    """Return the Python release that writes bytecode with this magic number."""
    for low, high, version in _VERSIONS:
        if low <= magic <= high:
            return version
    return _LEGACY.get(magic)


def _release(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _load(body: bytes, report: BytecodeReport) -> None:
    report.method = "marshal"
    try:
        # SECURITY: marshal builds objects from hostile bytes but never runs them; its
        # nesting depth is capped by CPython and the input size by MAX_PYC_BYTES.
        code = marshal.loads(body)  # noqa: S302 - inspected, never executed
    except (ValueError, EOFError, TypeError, MemoryError, RecursionError) as exc:
        report.error = f"the bytecode does not load: {type(exc).__name__}"
        _scan_strings(body, report)
        return
    if not isinstance(code, CodeType):
        report.error = "the bytecode holds no code object"
        return
    for item in _code_objects(code):
        _read_code(item, report)


def _code_objects(root: CodeType) -> Iterator[CodeType]:
    stack, seen = [root], 0
    while stack and seen < MAX_CODE_OBJECTS:
        code = stack.pop()
        seen += 1
        yield code
        stack += [const for const in code.co_consts if isinstance(const, CodeType)]


def _read_code(code: CodeType, report: BytecodeReport) -> None:
    report.names += [name for name in code.co_names if name in RISKY_NAMES]
    for const in code.co_consts:
        if len(report.strings) >= MAX_STRINGS:
            break
        if isinstance(const, bytes):
            const = const.decode("latin-1")
        if isinstance(const, str) and len(const) >= 3:
            report.strings.append(const[:MAX_STRING_CHARS])
    report.imports += _imports_of(code)


def _imports_of(code: CodeType) -> list[str]:
    found: list[str] = []
    module = ""
    try:
        for ins in dis.get_instructions(code):
            if ins.opname == "IMPORT_NAME" and isinstance(ins.argval, str):
                module = ins.argval
                found.append(module)
            elif ins.opname == "IMPORT_FROM" and isinstance(ins.argval, str):
                found.append(f"{module}.{ins.argval}" if module else ins.argval)
    except (IndexError, ValueError, TypeError, KeyError, AttributeError) as exc:
        found.append(f"<unreadable: {type(exc).__name__}>")
    return found


def _scan_strings(body: bytes, report: BytecodeReport) -> None:
    """Collect the strings of a marshal stream this interpreter cannot load."""
    if report.method == "none":
        report.method = "strings"
    for match in _SHORT_STR.finditer(body):
        start = match.end()
        if start < len(body):
            _add_string(body[start + 1 : start + 1 + body[start]], body[start], report)
    for match in _LONG_STR.finditer(body):
        start = match.end()
        size = int.from_bytes(body[start : start + 4], "little")
        if 3 <= size <= MAX_STRING_CHARS:
            _add_string(body[start + 4 : start + 4 + size], size, report)
    report.names = sorted(set(report.strings) & RISKY_NAMES)
    modules = NETWORK_MODULES | EXEC_MODULES
    report.imports = sorted({s for s in report.strings if _top(s) in modules and "." not in s})


def _add_string(raw: bytes, size: int, report: BytecodeReport) -> None:
    full = size > 0 and len(raw) == size
    if full and len(report.strings) < MAX_STRINGS and _PRINTABLE.fullmatch(raw):
        report.strings.append(raw.decode("ascii"))


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _unique(items: Iterator[str] | list[str]) -> list[str]:
    return list(dict.fromkeys(items))
