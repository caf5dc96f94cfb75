"""Per-file Python checks on the syntax tree, used by the signatures analyzer.

The pass is deliberately simple: one file, flow-insensitive name bindings, no types.
Input taint starts at `sys.argv`, `input()`, `sys.stdin`, the result of
`parse_args()` and web request objects, and follows assignments and the calls of the
file's own functions. Files that do not parse return None and are left to the regex
rules (those marked `ast_fallback`).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import JsonValue

from scanner.analyzers._pyparse import dotted, parse_tolerant
from scanner.analyzers._vendors import is_vendor_host, sdk_secret, vendor_of
from scanner.core.models import Category, Severity


@dataclass(frozen=True)
class CodeCheck:
    """Metadata of a check implemented in code rather than as a YAML rule."""

    id: str
    title: str
    category: Category
    description: str
    remediation: str


@dataclass(frozen=True)
class CodeHit:
    """One result of a code check."""

    check: CodeCheck
    line: int
    severity: Severity
    detail: str
    metadata: dict[str, JsonValue] = field(default_factory=dict)


SHELL_INJECTION = CodeCheck(
    "py.shell-injection",
    "Shell command built from variable input",
    Category.COMMAND_INJECTION,
    "A command string assembled from variables (f-string, `+`, `%`, `.format`) runs "
    "through a shell (`shell=True`, `os.system`, `os.popen`, `sh -c`): quotes or `;` in "
    "the input run extra commands.",
    "Pass an argument list without a shell: `subprocess.run([...], shell=False)`.",
)
DYNAMIC_EXEC = CodeCheck(
    "py.dynamic-exec",
    "eval, exec or compile of non-constant code",
    Category.CODE_INJECTION,
    "`eval`/`exec`/`compile` runs text that is not a literal; from the command line, "
    "stdin or a file the user names, it runs anything (`__import__('os').system(...)`).",
    "Parse instead of evaluating: `ast.literal_eval`, a real parser or a whitelist walker.",
)
EXEC_DECODED = CodeCheck(
    "py.exec-decoded",
    "Decoded data executed",
    Category.OBFUSCATION,
    "The code passed to `exec`/`eval` comes out of a decoder (base64, zlib, hex, "
    "rot13, marshal, character codes, reversal): the real code is hidden from review.",
    "Ship readable source; never execute decoded blobs.",
)
EXEC_REMOTE = CodeCheck(
    "py.exec-remote",
    "Downloaded code executed",
    Category.REMOTE_CODE_EXECUTION,
    "The response of a network request is executed or unpickled, or written to a file "
    "that is then run.",
    "Never execute or unpickle downloaded data.",
)
ENV_EXFIL = CodeCheck(
    "py.env-exfiltration",
    "Whole environment collected in a file that sends data out",
    Category.DATA_EXFILTRATION,
    "The whole environment (`dict(os.environ)`, `os.environ.copy()`) is collected, "
    "and the same file makes network requests: API keys and tokens leave the machine.",
    "Read only the variables the skill needs, by name, and send them only to their own service.",
)
CREDENTIAL_FILE = CodeCheck(
    "py.credential-file",
    "Credential file read by the script",
    Category.CREDENTIAL_ACCESS,
    "The script names a credential store (SSH private keys, cloud CLI credentials, "
    "`.netrc`, `.npmrc`, GitHub CLI hosts, browser or wallet stores). With a network "
    "request in the same file it is high, critical when the destination is untrusted.",
    "Let the owning tool use its credentials; never read or copy the file.",
)
DNS_EXFIL = CodeCheck(
    "py.dns-exfiltration",
    "Encoded data resolved as DNS names",
    Category.DATA_EXFILTRATION,
    "Host names whose leading labels are built from encoded data, or from the user's "
    "name, the machine's name or an environment value, are resolved: DNS tunnelling "
    "and beaconing, which carry data past HTTP egress controls.",
    "Resolve only fixed host names.",
)
PATH_TRAVERSAL = CodeCheck(
    "py.path-traversal",
    "Untrusted name joined under a base folder without containment",
    Category.PATH_TRAVERSAL,
    "A name from the command line or stdin is joined under a base folder and opened, "
    "but never resolved and checked to stay inside it: `../../.bashrc` or an absolute "
    "path escapes. Writes are high, reads medium.",
    "Resolve the joined path and check `path.is_relative_to(base.resolve())` first.",
)
TAR_EXTRACT = CodeCheck(
    "py.tar-extract",
    "Tar archive extracted without a filter",
    Category.PATH_TRAVERSAL,
    "`TarFile.extractall()` without `filter=` writes members with `..`, absolute paths "
    "or links wherever they point.",
    "Pass `filter='data'` (Python 3.12+) or check each member's resolved path.",
)
DESERIALIZATION = CodeCheck(
    "py.unsafe-deserialization",
    "Untrusted data deserialized",
    Category.CODE_INJECTION,
    "Pickle, marshal, dill, joblib, `yaml.load` with a full loader, `torch.load` and "
    "`numpy.load(allow_pickle=True)` run code while loading. From the network it is "
    "critical, from program input high, from an unknown source low.",
    "Load data formats that cannot carry code (JSON, `yaml.safe_load`, safetensors).",
)
SECRET_TO_FOREIGN_HOST = CodeCheck(
    "py.secret-to-foreign-host",
    "Secret environment variable sent to another service",
    Category.DATA_EXFILTRATION,
    "A token, key or password read from the environment goes into a request to a host "
    "that does not belong to the service the variable is named after (a GitHub token to "
    "a host other than GitHub). Untrusted destinations are critical.",
    "Send each credential only to the service that issued it.",
)
COLLECTED_UPLOAD = CodeCheck(
    "py.collected-upload",
    "A whole folder of the user's files collected and sent away",
    Category.DATA_EXFILTRATION,
    "The code archives, walks or copies a whole folder the user keeps (the home folder, "
    "Documents, Desktop, Downloads, the current project) and what it collected goes into a "
    "request to a named host: the user's files leave without a secret ever being named. "
    "Untrusted destinations are critical; a host named like the skill itself, or an address "
    "only known at run time, is medium.",
    "Send only the files the task needs, to the service the skill is for, and say so in SKILL.md.",
)
UNPARSED = CodeCheck(
    "py.unparsed",
    "Python the scanner could not parse",
    Category.ANALYSIS_COVERAGE,
    "A Python file, or some of its lines, does not parse as the Python the scanner runs "
    "(a newer or older syntax, or a stray character): those lines are read by the "
    "pattern rules only, not by the code checks. Low when a few lines were set aside "
    "and the rest analysed; medium when the whole file could not be parsed.",
    "Keep scripts valid for current Python 3.",
)
CHECKS = (
    SECRET_TO_FOREIGN_HOST,
    COLLECTED_UPLOAD,
    SHELL_INJECTION,
    DESERIALIZATION,
    DYNAMIC_EXEC,
    EXEC_DECODED,
    EXEC_REMOTE,
    ENV_EXFIL,
    CREDENTIAL_FILE,
    DNS_EXFIL,
    PATH_TRAVERSAL,
    TAR_EXTRACT,
    UNPARSED,
)

_SUBPROCESS_SHELL = frozenset({"run", "call", "Popen", "check_output", "check_call"})
_ALWAYS_SHELL = frozenset(
    {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
     "commands.getoutput", "asyncio.create_subprocess_shell", "popen2.popen2"}
)  # fmt: skip
_EXEC_NAMES = frozenset({"eval", "exec", "compile", "builtins.eval", "builtins.exec"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "/bin/sh", "/bin/bash", "/usr/bin/bash"})
_DECODERS = frozenset(
    {"b64decode", "b32decode", "b85decode", "a85decode", "b16decode", "urlsafe_b64decode",
     "standard_b64decode", "decodebytes", "decompress", "unhexlify", "a2b_hex",
     "a2b_base64", "fromhex", "loads", "chr", "translate"}
)  # fmt: skip
_CODEC_NAMES = frozenset({"rot13", "rot_13", "rot-13", "hex", "base64", "zlib", "bz2"})
_NETWORK_MODULES = frozenset(
    {"requests", "httpx", "urllib", "urllib3", "http", "socket", "aiohttp", "smtplib",
     "ftplib", "websocket", "websockets", "paramiko", "pycurl", "telnetlib"}
)  # fmt: skip
_NETWORK_CALLS = frozenset(
    {"get", "post", "put", "patch", "request", "urlopen", "Request", "HTTPConnection",
     "HTTPSConnection", "connect", "sendall", "send", "sendto", "create_connection",
     "SMTP", "SMTP_SSL", "FTP", "ClientSession", "stream"}
)  # fmt: skip
_ALWAYS_NETWORK = frozenset({"urlopen", "sendall", "sendto", "create_connection"})
_MAX_PATH_PARTS = 12
_INTERPRETERS = frozenset(
    {"sh", "bash", "zsh", "dash", "python", "python3", "node", "perl", "ruby", "pwsh",
     "powershell", "powershell.exe", "cmd", "cmd.exe"}
)  # fmt: skip
_LOOKUP_TOOLS = frozenset({"dig", "nslookup", "host", "drill", "ping"})
_PROSE_KEYWORDS = frozenset({"description", "instructions"})
_AGENT_ADDRESS = re.compile(
    r"\b(?:for|to)\s+(?:the\s+)?(?:AI\s+)?(?:assistant|agent|LLM|model|Claude|Copilot)s?\b"
    r"|\b(?:AI|assistant|agent)\s*(?:note|instruction)s?\s*:",
    re.IGNORECASE,
)
_MIN_AGENT_NOTE = 60
_NAMES_A_KEY = re.compile(r"\bIdentityFile\s", re.IGNORECASE)
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|AUTH|CRED", re.IGNORECASE)
_PICKLE_LOADERS = frozenset(
    {"pickle.load", "pickle.loads", "cPickle.load", "cPickle.loads", "dill.load", "dill.loads",
     "joblib.load", "marshal.load", "marshal.loads", "shelve.open", "jsonpickle.decode",
     "pandas.read_pickle", "pd.read_pickle", "cloudpickle.loads", "cloudpickle.load"}
)  # fmt: skip
_REQUEST_CALLS = frozenset(
    {"get", "post", "put", "patch", "delete", "request", "urlopen", "Request", "stream"}
)
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|CREDENTIAL|COOKIE", re.I
)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://([^/:?#\s\"']+)[^\s\"']*", re.I)
_RAW_READERS = frozenset({"open", "Path", "read_text", "read_bytes", "readFile"})
_DOTENV_PATH = re.compile(r"(?:^|[/\\])\.env(?:\.(?:local|production|prod|development))?$")
_SOCKET_READS = frozenset({"recv", "recvfrom", "recv_into", "recvmsg"})
_BODY_KEYWORDS = frozenset({"json", "data", "params", "files", "content"})
_LIBRARY_LOADERS = frozenset({"CDLL", "WinDLL", "LoadLibrary", "dlopen", "load_dynamic"})
_SOCKET_SENDS = frozenset({"sendto", "sendall", "create_connection"})
_LOCAL_PREFIXES = ("127.", "0.", "10.", "192.168.", "169.254.")
_BARE_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_REQUEST_ATTRIBUTES = frozenset({"self.path", "self.headers"})
_FETCH_CALLS = frozenset({"get", "post", "urlopen", "request", "stream"})
_RESOLVERS = frozenset({"gethostbyname", "gethostbyname_ex", "getaddrinfo", "resolve", "query"})
_ENCODERS = frozenset(
    {"hexlify", "b64encode", "b32encode", "b16encode", "urlsafe_b64encode", "hex", "b2a_hex"}
)
_SANITIZERS = frozenset({"basename", "secure_filename", "int", "float", "slugify", "quote"})
# Calls whose result carries the text of their arguments, for path taint.
_TEXT_KEEPING = frozenset(
    {"str", "Path", "PurePath", "PosixPath", "join", "abspath", "normpath", "expanduser",
     "expandvars", "format", "replace", "strip", "lstrip", "rstrip", "lower", "upper",
     "get", "getenv", "pop", "split", "rsplit", "dirname", "resolve", "absolute",
     "joinpath", "with_name", "with_suffix", "fspath", "decode", "encode", "unquote",
     "getattr", "vars", "dict", "list", "tuple", "next", "iter", "sorted", "reversed"}
)  # fmt: skip
_HASHING = re.compile(r"hash|digest|sha\d|md5|uuid", re.IGNORECASE)
_CONTAINMENT = frozenset({"is_relative_to", "relative_to", "commonpath", "commonprefix"})
_WRITE_METHODS = frozenset(
    {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rename", "replace", "rmdir",
     "symlink_to", "hardlink_to"}
)  # fmt: skip
_READ_METHODS = frozenset({"read_text", "read_bytes", "open", "iterdir", "glob"})
_FOLDER_MAKERS = frozenset({"mkdir", "makedirs"})
_FILE_WRITES = _WRITE_METHODS - _FOLDER_MAKERS
_FIXED_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_WRITE_FUNCS = frozenset(
    {"shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move", "shutil.rmtree",
     "os.remove", "os.unlink", "os.rename", "os.makedirs", "os.mkdir"}
)  # fmt: skip
_LOCAL_SUFFIX = re.compile(r"\.(?:local|internal|lan|localhost|home\.arpa)\.?$")
_DOMAIN_TAIL = re.compile(r"\.[a-z0-9-]+\.[a-z]{2,}\.?$|\.[a-z]{2,}\.?$", re.IGNORECASE)
# Folders that hold what a user keeps, as the last part of a collected path.
_USER_FOLDER = re.compile(
    r"^(?:Documents|Desktop|Downloads|Pictures|Photos|Movies|Music|Dropbox|OneDrive"
    r"|iCloud Drive|Library/Mobile Documents|Notes|Obsidian|Projects|src|code|workspace)$",
    re.IGNORECASE,
)
_COLLECTORS = frozenset(
    {"make_archive", "copytree", "walk", "listdir", "scandir", "iglob", "glob", "rglob",
     "iterdir", "add", "write", "writestr"}
)  # fmt: skip
_ARCHIVE_MEMBERS = frozenset({"add", "write", "writestr"})
_ARCHIVERS = frozenset({"make_archive", "copytree", *_ARCHIVE_MEMBERS})
_WALKERS = frozenset({"walk", "listdir", "scandir", "iglob", "glob", "rglob", "iterdir"})
_ARCHIVE_OPENERS = frozenset(
    {
        "tarfile.open",
        "tarfile.TarFile",
        "TarFile",
        "zipfile.ZipFile",
        "ZipFile",
        "tarfile.TarFile.open",
    }
)
_ARCHIVE_ARGS = frozenset({"name", "file", "fileobj"})
_CONTENT_READS = frozenset({"open", "read", "read_text", "read_bytes", "readlines", "load"})
_CWD_CALLS = frozenset({"os.getcwd", "os.getcwdb", "pathlib.Path.cwd", "Path.cwd"})
_HOME_CALLS = frozenset({"pathlib.Path.home", "Path.home"})
_EXPANSION_BUDGET = 400
# Variables that configure where to connect, not who the user is.
_CONFIG_NAME = re.compile(r"REGION|HOST|DOMAIN|ZONE|ENDPOINT|SERVER|CLUSTER|URL|ENV$|STAGE", re.I)
_IDENTITY_CALLS = frozenset(
    {"getpass.getuser", "os.getlogin", "socket.gethostname", "socket.getfqdn", "platform.node",
     "os.uname", "platform.uname"}
)  # fmt: skip
# Fewer codes than this spell too little code to hide anything.
_MIN_CHARACTER_CODES = 12


def _walk(node: ast.AST) -> list[ast.AST]:
    """Return every node under `node`; whole modules and functions are walked only once."""
    if not isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
        return list(ast.walk(node))
    cached: list[ast.AST] | None = getattr(node, "_scanner_walk", None)
    if cached is None:
        cached = list(ast.walk(node))
        setattr(node, "_scanner_walk", cached)  # noqa: B010 - ast nodes take ad-hoc attributes
    return cached


def call_name(node: ast.Call) -> str:
    """Return the last component of the called name (`post` for `requests.post`)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def is_constant_text(node: ast.AST) -> bool:
    """Return True for a string or bytes literal (or an f-string without fields)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(part, ast.Constant) for part in node.values)
    return False


def is_interpolated(node: ast.AST) -> bool:
    """Return True when a string is built from parts at run time."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return not (is_constant_text(node.left) and is_constant_text(node.right))
    return isinstance(node, ast.Call) and call_name(node) in ("format", "join")


class Bindings:
    """Every value each name is assigned anywhere in the module (flow-insensitive).

    A parameter of one of the module's functions is bound to the arguments of each call
    of that function, and a call of such a function stands for what it returns: data
    passed from `main` through helpers is followed as if it were assigned.
    """

    def __init__(self, tree: ast.Module) -> None:
        self.values: dict[str, list[ast.AST]] = {}
        self.returns: dict[str, list[ast.AST]] = {}
        functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for node in _walk(tree):
            for target, value in _assignments(node):
                for name in _target_names(target):
                    self.values.setdefault(name, []).append(value)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.setdefault(node.name, []).append(node)
                self.returns.setdefault(node.name, []).extend(
                    child.value
                    for child in _walk(node)
                    if isinstance(child, ast.Return) and child.value is not None
                )
        for node in _walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                for function in functions.get(node.func.id, ()):
                    self._bind_arguments(function, node)

    def _bind_arguments(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
    ) -> None:
        params = [*function.args.posonlyargs, *function.args.args]
        for param, arg in zip(params, call.args, strict=False):
            if not isinstance(arg, ast.Starred):
                self.values.setdefault(param.arg, []).append(arg)
        names = {param.arg for param in [*params, *function.args.kwonlyargs]}
        for keyword in call.keywords:
            if keyword.arg in names:
                self.values.setdefault(keyword.arg, []).append(keyword.value)

    def expand(self, node: ast.AST, depth: int = 3) -> Iterator[ast.AST]:
        """Yield `node` and, for names and calls of local functions, their values, recursively."""
        yield node
        if depth <= 0:
            return
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                for value in self.values.get(child.id, ()):
                    yield from self.expand(value, depth - 1)
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                for value in self.returns.get(child.func.id, ()):
                    yield from self.expand(value, depth - 1)


def _assignments(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield target, node.value
    elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and node.value:
        yield node.target, node.value
    elif isinstance(node, ast.For | ast.comprehension):
        yield node.target, node.iter
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        yield node.optional_vars, node.context_expr


def _target_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Subscript):
        # NOTE: `headers["Authorization"] = token` binds the token to `headers`.
        yield from _target_names(target.value)
    elif isinstance(target, ast.Tuple | ast.List):
        for item in target.elts:
            yield from _target_names(item)


@dataclass
class PythonFacts:
    """What the whole file does that changes how its findings are judged."""

    network: bool = False
    untrusted_dest: bool = False
    encodes: bool = False
    resolves: bool = False
    strings: list[tuple[str, int]] = field(default_factory=list)
    paths: list[tuple[str, int]] = field(default_factory=list)
    prose: list[tuple[str, int]] = field(default_factory=list)
    skipped_lines: tuple[int, ...] = ()


class PythonChecker:
    """Run every code check on one Python file."""

    def __init__(
        self,
        credential_paths: re.Pattern[str],
        untrusted: re.Pattern[str],
        official: re.Pattern[str] | None = None,
    ) -> None:
        """Keep the credential-path, untrusted- and official-host patterns of the rule packs."""
        self._credentials = credential_paths
        self._untrusted = untrusted
        self._official = official

    def check(self, text: str) -> tuple[list[CodeHit], PythonFacts] | None:
        """Return the hits and facts of a file, or None when it does not parse."""
        parsed = parse_tolerant(text)
        if parsed is None:
            return None
        tree = parsed.tree
        facts = self._facts(tree)
        facts.prose.extend(_comment_blocks(text))
        facts.skipped_lines = parsed.skipped
        context = _Context(tree, Bindings(tree), facts, self._untrusted)
        hits: list[CodeHit] = []
        for node in _walk(tree):
            if isinstance(node, ast.Call):
                hits.extend(self._call_hits(context, node))
        hits.extend(self._credential_hits(facts))
        hits.extend(self._dotenv_hits(context))
        hits.extend(_env_dump_hits(context))
        hits.extend(_traversal_hits(context))
        hits.extend(_secret_env_hits(context))
        hits.extend(_collected_upload_hits(context))
        hits.extend(_download_run_hits(context, self._official))
        return _dedupe(hits), facts

    def _facts(self, tree: ast.Module) -> PythonFacts:
        facts = PythonFacts()
        roots = _network_roots(tree)
        for node in _walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                facts.strings.append((node.value, getattr(node, "lineno", 1)))
                facts.untrusted_dest |= bool(self._untrusted.search(node.value))
            elif isinstance(node, ast.Call):
                name = call_name(node)
                facts.network |= _is_network_call(node, roots)
                facts.encodes |= name in _ENCODERS
                facts.resolves |= name in _RESOLVERS
            path = _assembled_path(node)
            if path is not None:
                facts.paths.append((path, getattr(node, "lineno", 1)))
            facts.prose.extend(_prose_of(node))
        return facts

    def _call_hits(self, context: _Context, node: ast.Call) -> Iterator[CodeHit]:
        yield from _shell_hits(context, node)
        yield from _exec_hits(context, node)
        yield from _dns_hits(context, node)
        yield from _tar_hits(context, node)
        yield from _deserialization_hits(context, node)

    def _dotenv_hits(self, context: _Context) -> Iterator[CodeHit]:
        """Report `.env` read raw in a file that also sends data (python-dotenv is fine)."""
        facts = context.facts
        if not facts.network:
            return
        severity = Severity.CRITICAL if facts.untrusted_dest else Severity.HIGH
        detail = "reads the `.env` file raw and the file makes network requests"
        for node in _walk(context.tree):
            if _is_raw_dotenv_read(node, context.bindings):
                yield CodeHit(CREDENTIAL_FILE, getattr(node, "lineno", 1), severity, detail)

    def _credential_hits(self, facts: PythonFacts) -> Iterator[CodeHit]:
        for value, line in [*facts.strings, *facts.paths]:
            if len(value) > 300 or not self._credentials.search(value):
                continue
            if _NAMES_A_KEY.search(value):
                # NOTE: ssh config text (`IdentityFile ~/.ssh/id_ed25519`) names the key
                # for ssh to use; it does not read it.
                continue
            severity = Severity.MEDIUM
            if facts.network:
                severity = Severity.CRITICAL if facts.untrusted_dest else Severity.HIGH
            detail = "names a credential store" + (
                " and the file makes network requests" if facts.network else ""
            )
            yield CodeHit(CREDENTIAL_FILE, line, severity, detail, {"network": facts.network})


@dataclass
class _Context:
    tree: ast.Module
    bindings: Bindings
    facts: PythonFacts
    untrusted: re.Pattern[str]
    _taint: _Taint | None = None
    _path_taint: _Taint | None = None
    _downloads: dict[str, ast.Call] | None = None

    @property
    def taint(self) -> _Taint:
        if self._taint is None:
            self._taint = _Taint(self.tree, self.bindings)
        return self._taint

    @property
    def downloads(self) -> dict[str, ast.Call]:
        """The paths written from a download (see `_downloaded_paths`), found once."""
        if self._downloads is None:
            self._downloads = _downloaded_paths(self)
        return self._downloads

    @property
    def path_taint(self) -> _Taint:
        """Input taint that follows only the text of the input, for joined paths."""
        if self._path_taint is None:
            self._path_taint = _Taint(self.tree, self.bindings, path_text=True)
        return self._path_taint


def _network_roots(tree: ast.Module) -> set[str]:
    """Return the names that refer to network modules or to objects made by them."""
    roots = _imported_names(tree)
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            roots.update(
                a.asname or a.name.split(".")[0]
                for a in node.names
                if a.name.split(".")[0] in _NETWORK_MODULES
            )
    for node in _walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            # `with httpx.Client() as client:` binds a client as surely as `=` does.
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and item.optional_vars is not None
                    and dotted(call.func).split(".")[0] in roots
                ):
                    roots.update(_target_names(item.optional_vars))
            continue
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if dotted(node.value.func).split(".")[0] in roots:
            roots.update(n for t in node.targets for n in _target_names(t))
    return roots


def _imported_names(tree: ast.Module) -> set[str]:
    """Return names imported from network modules (`from requests import post`)."""
    return {
        alias.asname or alias.name
        for node in _walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.split(".")[0] in _NETWORK_MODULES
        for alias in node.names
    }


def _assembled_path(node: ast.AST) -> str | None:
    """Return the path a `/` chain or `os.path.join` spells, `*` for each variable part.

    `Path.home() / ".ssh" / name` gives `*/.ssh/*`: a credential store named in parts
    is still named. `Path.home().joinpath(".aws", "credentials")` gives
    `*/.aws/credentials`.
    """
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        parts = _division_parts(node, _MAX_PATH_PARTS)
    elif isinstance(node, ast.Call) and call_name(node) == "join" and len(node.args) >= 2:
        parts = list(node.args[:_MAX_PATH_PARTS])
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "joinpath"
        and node.args
    ):
        parts = [node.func.value, *node.args[: _MAX_PATH_PARTS - 1]]
    else:
        return None
    if len(parts) < 2 or not any(is_constant_text(part) for part in parts):
        return None
    return "/".join(str(_constant(part)) if is_constant_text(part) else "*" for part in parts)


def _prose_of(node: ast.AST) -> Iterator[tuple[str, int]]:
    """Yield the docstring of a module, class or function, and `description=` texts.

    An MCP tool's docstring is the description the agent reads: instructions hidden in
    it reach the agent as surely as those of SKILL.md.
    """
    if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        first = node.body[0] if node.body else None
        text = first.value if isinstance(first, ast.Expr) else None
        if isinstance(text, ast.Constant) and isinstance(text.value, str):
            yield text.value, text.lineno
    elif isinstance(node, ast.keyword) and node.arg in _PROSE_KEYWORDS:
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield value.value, value.lineno
    elif isinstance(node, ast.Assign) and _is_agent_note(node.value):
        # NOTE: text the script prints for the agent that runs it ("note for the
        # assistant: ...") reaches the agent as surely as SKILL.md does.
        yield str(getattr(node.value, "value", "")), node.value.lineno


def _is_agent_note(node: ast.AST) -> bool:
    """Return True for a long string literal that addresses an AI agent."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and len(node.value) >= _MIN_AGENT_NOTE
        and bool(_AGENT_ADDRESS.search(node.value))
    )


def _comment_blocks(text: str) -> Iterator[tuple[str, int]]:
    """Yield runs of whole-line comments joined into one text, with their first line.

    A note in a comment "for AI agents" reaches an agent that reads the script as surely
    as a docstring does.
    """
    block: list[str] = []
    first = last = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.COMMENT or token.line[: token.start[1]].strip():
                continue
            line = token.start[0]
            if block and line != last + 1:
                yield "\n".join(block), first
                block = []
            if not block:
                first = line
            block.append(token.string.lstrip("#").strip())
            last = line
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    if block:
        yield "\n".join(block), first


def _division_parts(node: ast.expr, budget: int) -> list[ast.expr]:
    """Return the operands of a left-leaning chain of `/`, at most `budget` of them."""
    parts: list[ast.expr] = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and len(parts) < budget:
        parts.append(node.right)
        node = node.left
    parts.append(node)
    return parts[::-1]


def _is_network_call(node: ast.Call, roots: set[str]) -> bool:
    name = call_name(node)
    if name not in _NETWORK_CALLS:
        return False
    return dotted(node.func).split(".")[0] in roots or name in _ALWAYS_NETWORK


def _shell_hits(context: _Context, node: ast.Call) -> Iterator[CodeHit]:
    command = _shell_command(node)
    if command is None or is_constant_text(command):
        return
    values = list(context.bindings.expand(command))
    if any(_is_remote(value) for value in values):
        yield CodeHit(
            EXEC_REMOTE, node.lineno, Severity.CRITICAL, "a shell runs a network response"
        )
        return
    if any(is_interpolated(value) for value in values):
        severity, detail = Severity.HIGH, "the command string is built from variables"
    elif any(context.taint.is_tainted(value) for value in values):
        severity, detail = Severity.MEDIUM, "the whole command comes from program input"
    else:
        severity, detail = Severity.MEDIUM, "the command is not a constant"
    yield CodeHit(SHELL_INJECTION, node.lineno, severity, detail)


def _shell_command(node: ast.Call) -> ast.AST | None:
    """Return the expression run by a shell in this call, if the call uses one."""
    name = dotted(node.func)
    if name in _ALWAYS_SHELL and node.args:
        return node.args[0]
    if not node.args or call_name(node) not in _SUBPROCESS_SHELL:
        return None
    first = node.args[0]
    if any(k.arg == "shell" and _is_true(k.value) for k in node.keywords):
        return first
    if isinstance(first, ast.List | ast.Tuple) and len(first.elts) >= 3:
        shell, flag = first.elts[0], first.elts[1]
        if _constant(shell) in _SHELLS and _constant(flag) == "-c":
            return first.elts[2]
    return None


def _constant(node: ast.AST) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _exec_hits(context: _Context, node: ast.Call) -> Iterator[CodeHit]:
    if dotted(node.func) not in _EXEC_NAMES and _computed_builtin(node.func) not in _EXEC_NAMES:
        return
    if not node.args or is_constant_text(node.args[0]):
        return
    values = list(context.bindings.expand(node.args[0]))
    if any(_is_remote(value) for value in values):
        yield CodeHit(EXEC_REMOTE, node.lineno, Severity.CRITICAL, "it runs a network response")
    elif _reads_download(context, values):
        yield CodeHit(EXEC_REMOTE, node.lineno, Severity.CRITICAL, "it runs a file it downloaded")
    elif any(_is_decoded(value) for value in values):
        yield CodeHit(EXEC_DECODED, node.lineno, Severity.CRITICAL, "it runs decoded data")
    elif any(context.taint.is_tainted(value) for value in values):
        yield CodeHit(DYNAMIC_EXEC, node.lineno, Severity.HIGH, "it runs program input")
    else:
        yield CodeHit(DYNAMIC_EXEC, node.lineno, Severity.MEDIUM, "the code is not a literal")


def _computed_builtin(func: ast.AST) -> str | None:
    """Return the name a call reaches by a computed lookup, if it spells one.

    `__builtins__["ex" + "ec"]` and `getattr(builtins, "lave"[::-1])` reach exec and eval.
    """
    if isinstance(func, ast.Subscript):
        return _folded(func.slice)
    if isinstance(func, ast.Call) and dotted(func.func) == "getattr" and len(func.args) >= 2:
        return _folded(func.args[1])
    return None


def _folded(node: ast.AST) -> str | None:
    """Return the text a constant expression spells (concatenated or reversed literals)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded(node.left), _folded(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Subscript) and _is_reversal(node.slice):
        inner = _folded(node.value)
        return inner[::-1] if inner is not None else None
    return None


def _is_decoded(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Call) and _is_decoder_call(child):
            return True
        if isinstance(child, ast.List | ast.Tuple) and _is_character_codes(child):
            return True
        if isinstance(child, ast.Subscript) and _is_reversal(child.slice):
            return True
        if isinstance(child, ast.BinOp) and isinstance(child.op, ast.BitXor):
            return True
    return False


def _is_character_codes(node: ast.List | ast.Tuple) -> bool:
    """Return True for a literal run of printable character codes (`bytes([105, 109, ...])`)."""
    items = node.elts
    return len(items) >= _MIN_CHARACTER_CODES and all(
        isinstance(item, ast.Constant)
        and type(item.value) is int
        and (item.value in (9, 10, 13) or 32 <= item.value < 127)
        for item in items
    )


def _is_decoder_call(node: ast.Call) -> bool:
    name = call_name(node)
    if name in _DECODERS:
        return True
    if name in ("decode", "encode") and node.args:
        codec = node.args[-1]
        return isinstance(codec, ast.Constant) and str(codec.value).lower() in _CODEC_NAMES
    return False


def _is_reversal(node: ast.AST) -> bool:
    if not isinstance(node, ast.Slice) or node.step is None:
        return False
    step = node.step
    return isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub)


def _is_remote(node: ast.AST) -> bool:
    """Return True when the expression holds data received from the network."""
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and dotted(child) in _REQUEST_ATTRIBUTES:
            return True
        if isinstance(child, ast.Call) and _is_remote_call(child):
            return True
    return False


def _is_remote_call(node: ast.Call) -> bool:
    name, parts = call_name(node), dotted(node.func).split(".")
    if name in _SOCKET_READS or "rfile" in parts or name == "urlopen":
        return True
    return name in _FETCH_CALLS and parts[0] in ("requests", "httpx", "urllib")


def _download_run_hits(context: _Context, official: re.Pattern[str] | None) -> Iterator[CodeHit]:
    """Report a file written from a download and then run (an "update check").

    The two-statement form of `exec(urlopen(...))`: `urlretrieve(url, path)` or a
    response written to `path`, then `path` handed to a subprocess, `os.system`,
    `runpy` or `exec(open(path).read())`. From an official installer or release host
    it is medium, from an untrusted one critical.
    """
    downloads = context.downloads
    if not downloads:
        return
    for node in _walk(context.tree):
        if not isinstance(node, ast.Call) or not _is_runner(node):
            continue
        for part in _program_parts(context, node):
            for value in context.bindings.expand(part, depth=2):
                key = _path_key(value)
                if key is None or key not in downloads:
                    continue
                urls = list(_urls_in_values(context, downloads[key]))
                severity = Severity.HIGH
                if any(context.untrusted.search(u) for u in urls):
                    severity = Severity.CRITICAL
                elif urls and official is not None and all(official.search(u) for u in urls):
                    severity = Severity.MEDIUM
                detail = "it runs a file it downloaded"
                yield CodeHit(EXEC_REMOTE, node.lineno, severity, detail)
                return


def _program_parts(context: _Context, node: ast.Call) -> list[ast.AST]:
    """Return the expressions that name what a runner call runs.

    In an argument list that is the program, or the script after an interpreter; a
    downloaded data file handed to `jq` is not run. A command string counts whole.
    """
    if not node.args:
        return []
    first = node.args[0]
    argv = next(
        (v for v in context.bindings.expand(first, depth=2) if isinstance(v, ast.List | ast.Tuple)),
        None,
    )
    if argv is None or not argv.elts:
        return list(ast.walk(first))
    program = argv.elts[0]
    parts: list[ast.AST] = [program]
    name = str(_constant(program)) if is_constant_text(program) else dotted(program)
    if len(argv.elts) > 1 and (
        name.rsplit("/", 1)[-1] in _INTERPRETERS or name == "sys.executable"
    ):
        parts.append(argv.elts[1])
    return parts


def _reads_download(context: _Context, values: list[ast.AST]) -> bool:
    """Return True when a value is read from a file the module wrote from a download."""
    reads = [
        child
        for value in values
        for child in ast.walk(value)
        if isinstance(child, ast.Call) and call_name(child) in _RAW_READERS
    ]
    if not reads:
        return False
    downloads = context.downloads
    for call in reads:
        # NOTE: `open(path)` names the file; `path.open("rb")` is a method of the path.
        builtin = dotted(call.func) in ("open", "io.open", "builtins.open", "codecs.open")
        path = call.args[0] if builtin and call.args else None
        if path is None and isinstance(call.func, ast.Attribute):
            path = call.func.value
        if path is not None and _path_key(path) in downloads:
            return True
    return False


def _downloaded_paths(context: _Context) -> dict[str, ast.Call]:
    """Return the paths (by name or literal) written from a download, with the call."""
    found: dict[str, ast.Call] = {}
    for node in _walk(context.tree):
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        if name == "urlretrieve" and len(node.args) >= 2:
            key = _path_key(node.args[1])
        elif dotted(node.func) == "os.write" and len(node.args) >= 2:
            if not any(_is_remote(v) for v in context.bindings.expand(node.args[1], depth=2)):
                continue
            key = _mkstemp_path_key(context.tree, node.args[0])
        elif name in ("write", "write_bytes", "write_text") and node.args:
            data = node.args[0]
            if not any(_is_remote(v) for v in context.bindings.expand(data, depth=2)):
                continue
            key = _written_path_key(context, node)
        else:
            continue
        if key is not None:
            found[key] = node
    return found


def _written_path_key(context: _Context, node: ast.Call) -> str | None:
    """Return the path a `.write(...)` goes to: `Path(p).write_bytes`, `open(p).write`."""
    if not isinstance(node.func, ast.Attribute):
        return None
    owner, method = node.func.value, node.func.attr
    for value in context.bindings.expand(owner, depth=2):
        if isinstance(value, ast.Call) and call_name(value) in ("open", "Path") and value.args:
            return _path_key(value.args[0])
        key = _path_key(value)
        if key is not None and method in ("write_bytes", "write_text"):
            return key
    if isinstance(owner, ast.Name):
        for call, target in _with_items(context.tree):
            if owner.id == target and call.args:
                return _path_key(call.args[0])
    return None


def _mkstemp_path_key(tree: ast.Module, handle: ast.expr) -> str | None:
    """Return the path bound with a descriptor by `fd, path = tempfile.mkstemp()`."""
    if not isinstance(handle, ast.Name):
        return None
    for node in _walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if call_name(node.value) != "mkstemp":
            continue
        for target in node.targets:
            if isinstance(target, ast.Tuple) and len(target.elts) == 2:
                fd, path = target.elts
                if isinstance(fd, ast.Name) and fd.id == handle.id:
                    return _path_key(path)
    return None


def _with_items(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    for node in _walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                call, var = item.context_expr, item.optional_vars
                if isinstance(call, ast.Call) and isinstance(var, ast.Name):
                    yield call, var.id


def _path_key(node: ast.AST) -> str | None:
    """Return a key naming a path expression: the variable, or the literal text."""
    if isinstance(node, ast.Name):
        return f"name:{node.id}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"text:{node.value}"
    if isinstance(node, ast.Call) and call_name(node) in ("str", "Path", "fspath") and node.args:
        return _path_key(node.args[0])
    return None


def _is_runner(node: ast.Call) -> bool:
    name, full = call_name(node), dotted(node.func)
    if (
        full.startswith(("subprocess.", "os.exec", "os.spawn", "runpy."))
        or name in _SUBPROCESS_SHELL
    ):
        return True
    if full in ("os.system", "os.popen", "os.startfile") or name in _LIBRARY_LOADERS:
        return True
    if full in _EXEC_NAMES and node.args:
        first = node.args[0]
        return any(isinstance(c, ast.Call) and call_name(c) == "open" for c in ast.walk(first))
    return False


def _urls_in_values(context: _Context, call: ast.Call) -> Iterator[str]:
    for arg in call.args[:1] if call_name(call) == "urlretrieve" else call.args:
        for value in context.bindings.expand(arg, depth=3):
            for child in ast.walk(value):
                if isinstance(child, ast.Constant) and "://" in str(child.value):
                    yield str(child.value)


def _dns_hits(context: _Context, node: ast.Call) -> Iterator[CodeHit]:
    facts = context.facts
    if not node.args:
        return
    severity = Severity.CRITICAL if facts.untrusted_dest else Severity.HIGH
    looked_up = _lookup_argv_host(node)
    if facts.encodes and (
        looked_up is not None or (facts.resolves and _is_built_host(node.args[0]))
    ):
        detail = "a host name with encoded data in its leading labels is looked up"
        yield CodeHit(DNS_EXFIL, node.lineno, severity, detail)
        return
    if looked_up is None and call_name(node) in _RESOLVERS and not facts.encodes:
        # NOTE: with encoding in the file, the call given the built name reports it above.
        values = context.bindings.expand(node.args[0])
        looked_up = next((value for value in values if _is_built_host(value)), None)
    if looked_up is not None and _names_the_user(looked_up, context.bindings):
        detail = "a host name built from the user's name, machine or environment is looked up"
        yield CodeHit(DNS_EXFIL, node.lineno, severity, detail)


def _names_the_user(node: ast.AST, bindings: Bindings) -> bool:
    """Return True when a value holds the user's name, the machine's name or an env value."""
    for value in bindings.expand(node):
        for child in ast.walk(value):
            name = _env_read_name(child)
            if name is not None and not _CONFIG_NAME.search(name):
                return True
            if isinstance(child, ast.Call) and dotted(child.func) in _IDENTITY_CALLS:
                return True
            if isinstance(child, ast.Attribute) and child.attr == "nodename":
                return True
    return False


def _lookup_argv_host(node: ast.Call) -> ast.AST | None:
    """Return the built host name of `subprocess.run(["dig", ..., f"{data}.x.net"])`."""
    if call_name(node) not in _SUBPROCESS_SHELL:
        return None
    argv = node.args[0]
    if not isinstance(argv, ast.List | ast.Tuple) or not argv.elts:
        return None
    if _constant(argv.elts[0]) not in _LOOKUP_TOOLS:
        return None
    return next((arg for arg in argv.elts[1:] if _is_built_host(arg)), None)


def _is_built_host(node: ast.AST) -> bool:
    """Return True for `f"{data}.x.example.com"` or `data + ".x.example.com"`."""
    if isinstance(node, ast.JoinedStr) and node.values:
        head, tail = node.values[0], node.values[-1]
        if not isinstance(head, ast.FormattedValue) or not isinstance(tail, ast.Constant):
            return False
        return _is_domain_tail(str(tail.value))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        right = node.right
        if isinstance(right, ast.Constant) and not is_constant_text(node.left):
            return _is_domain_tail(str(right.value))
    return False


def _is_domain_tail(text: str) -> bool:
    return bool(_DOMAIN_TAIL.search(text)) and not _LOCAL_SUFFIX.search(text)


def _tar_hits(context: _Context, node: ast.Call) -> Iterator[CodeHit]:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr != "extractall":
        return
    if any(k.arg == "filter" for k in node.keywords):
        return
    owner = list(context.bindings.expand(func.value, depth=1))
    if any(isinstance(v, ast.Call) and dotted(v.func) == "tarfile.open" for v in owner):
        yield CodeHit(TAR_EXTRACT, node.lineno, Severity.MEDIUM, "no extraction filter")


def _deserialization_hits(context: _Context, node: ast.Call) -> Iterator[CodeHit]:
    if not _is_unsafe_loader(node) or not node.args:
        return
    values = list(context.bindings.expand(node.args[0]))
    if any(_is_remote(value) for value in values):
        severity, detail = Severity.CRITICAL, "the data comes from the network"
    elif _reads_download(context, values):
        severity, detail = Severity.CRITICAL, "the data is a file the code downloaded"
    elif any(context.taint.is_tainted(value) for value in values):
        severity, detail = Severity.HIGH, "the data comes from program input"
    else:
        severity, detail = Severity.LOW, "the data's origin is unknown"
    yield CodeHit(DESERIALIZATION, node.lineno, severity, detail)


def _is_raw_dotenv_read(node: ast.AST, bindings: Bindings) -> bool:
    """Return True for `open(".env")` or `(Path.home() / ".env").read_bytes()`."""
    if not isinstance(node, ast.Call) or call_name(node) not in _RAW_READERS:
        return False
    paths = list(node.args[:1])
    if not paths and isinstance(node.func, ast.Attribute):
        paths.append(node.func.value)
    return any(_is_dotenv_path(value) for path in paths for value in bindings.expand(path, depth=2))


def _is_dotenv_path(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return bool(_DOTENV_PATH.search(str(node.value)))
    assembled = _assembled_path(node)
    return assembled is not None and bool(_DOTENV_PATH.search(assembled))


def _is_unsafe_loader(node: ast.Call) -> bool:
    name = dotted(node.func)
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if name in _PICKLE_LOADERS:
        return True
    if name == "yaml.load":
        loader = dotted(keywords["Loader"]) if "Loader" in keywords else ""
        return not loader.endswith(("SafeLoader", "CSafeLoader", "BaseLoader"))
    if name in ("yaml.unsafe_load", "yaml.full_load"):
        return True
    if name == "torch.load":
        return not _is_true(keywords.get("weights_only", ast.Constant(None)))
    return name in ("numpy.load", "np.load") and _is_true(
        keywords.get("allow_pickle", ast.Constant(None))
    )


def _secret_env_hits(context: _Context) -> Iterator[CodeHit]:
    """Report secret env vars that flow into requests to hosts not named after them."""
    if not context.facts.network:
        return
    imported = _imported_modules(context.tree)
    for node in _walk(context.tree):
        if not isinstance(node, ast.Call) or not _is_request(node):
            continue
        values = [v for arg in _call_inputs(node) for v in context.bindings.expand(arg)]
        names = {name for value in values for name in _secret_env_names(value, imported)}
        if not names:
            continue
        destination = [v for arg in _destination(node) for v in context.bindings.expand(arg)]
        urls = {url for value in destination or values for url in _urls_in(value)}
        carried = {
            name
            for arg in _body_inputs(node)
            for value in context.bindings.expand(arg)
            for name in _secret_env_names(value, imported)
        }
        hit = _foreign_secret(context, node, names, urls, carried)
        if hit is not None:
            yield hit


def _is_request(node: ast.Call) -> bool:
    name = call_name(node)
    if name in _SOCKET_SENDS:
        return True
    return name in _REQUEST_CALLS and (
        name == "urlopen" or dotted(node.func).split(".")[0] in _NETWORK_MODULES | {"session"}
    )


def _call_inputs(node: ast.Call) -> list[ast.expr]:
    return [*node.args, *(keyword.value for keyword in node.keywords)]


def _destination(node: ast.Call) -> list[ast.expr]:
    """Return the argument naming where a request goes (its URL or a socket's address).

    A body built from an earlier response to the vendor must not lend the request the
    vendor's host.
    """
    named = [k.value for k in node.keywords if k.arg == "url"]
    if named:
        return named
    if call_name(node) == "sendto":
        return node.args[1:2]
    if call_name(node) == "create_connection":
        return node.args[:1]
    if call_name(node) in _SOCKET_SENDS:
        return []
    return node.args[:1]


def _body_inputs(node: ast.Call) -> list[ast.expr]:
    """Return what a request carries as data: the body and query, not headers or auth."""
    return [k.value for k in node.keywords if k.arg in _BODY_KEYWORDS]


def _secret_env_names(node: ast.AST, imported: frozenset[str] = frozenset()) -> Iterator[str]:
    """Yield the secret variables a value reads, and the SDK credentials it asks for."""
    for child in ast.walk(node):
        name = _env_read_name(child)
        if name is not None and _SECRET_NAME.search(name):
            yield name
        elif imported and isinstance(child, ast.Call):
            name = sdk_secret((call_name(child), dotted(child.func)), imported)
            if name is not None:
                yield name


def _imported_modules(tree: ast.Module) -> frozenset[str]:
    """Return the top-level modules a module imports (`boto3` for `import boto3.session`)."""
    imported: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    return frozenset(imported)


def _env_read_name(node: ast.AST) -> str | None:
    key: ast.expr | None
    if isinstance(node, ast.Subscript) and dotted(node.value) == "os.environ":
        key = node.slice
    elif isinstance(node, ast.Call) and dotted(node.func) in ("os.environ.get", "os.getenv"):
        key = node.args[0] if node.args else None
    else:
        return None
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def _urls_in(node: ast.AST) -> Iterator[str]:
    """Yield the URLs a value spells; a bare IP address (a socket's peer) as `tcp://IP`."""
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield from (m.group() for m in _URL.finditer(child.value))
            if _BARE_IP.fullmatch(child.value) and not child.value.startswith(_LOCAL_PREFIXES):
                yield f"tcp://{child.value}/"


def _foreign_secret(
    context: _Context, node: ast.Call, names: set[str], urls: set[str], carried: set[str]
) -> CodeHit | None:
    """Judge where named secrets go: their own vendor's host, another one, or nowhere known.

    In a header a key may go to a compatible proxy of its vendor (medium); carried in the
    body or query of a request to another service's host it is handed over (high).
    """
    hosts = {match.group(1).lower() for url in urls if (match := _URL.match(url))}
    vendors = {word for word in map(vendor_of, names) if word}
    owned = any(is_vendor_host(word, host) for word in vendors for host in hosts)
    if any(context.untrusted.search(url) for url in urls):
        severity = Severity.CRITICAL
    elif vendors and hosts and not owned:
        carried_vendors = {word for word in map(vendor_of, carried) if word}
        severity = Severity.HIGH if carried_vendors else Severity.MEDIUM
    else:
        return None
    detail = f"{', '.join(sorted(names))} goes to {', '.join(sorted(hosts))}"
    return CodeHit(SECRET_TO_FOREIGN_HOST, node.lineno, severity, detail)


def _collected_upload_hits(context: _Context) -> Iterator[CodeHit]:
    """Report a whole user folder collected in a file and carried by one of its requests."""
    if not context.facts.network:
        return
    collected = {
        id(node): (root, call_name(node) in _ARCHIVERS)
        for node in _walk(context.tree)
        if isinstance(node, ast.Call) and (root := _collected_root(node, context.bindings))
    }
    if not collected:
        return
    targets = {
        target: root
        for node in _walk(context.tree)
        if isinstance(node, ast.Call)
        and id(node) in collected
        and call_name(node) in _ARCHIVE_MEMBERS
        for target in _archive_targets(node, context.bindings)
        for root in (collected[id(node)][0],)
    }
    vendors = {
        vendor
        for node in _walk(context.tree)
        if (name := _env_read_name(node)) and _SECRET_NAME.search(name)
        if (vendor := vendor_of(name))
    }
    for node in _walk(context.tree):
        if not isinstance(node, ast.Call) or not _is_request(node):
            continue
        seen = [
            child
            for arg in _carried(node)
            for value in _bounded_expand(context.bindings, arg)
            for child in ast.walk(value)
        ]
        # NOTE: a listing sends names or counts; the files leave when they are read too.
        reads = any(isinstance(c, ast.Call) and call_name(c) in _CONTENT_READS for c in seen)
        roots = {
            collected[id(child)][0]
            for child in seen
            if id(child) in collected and (reads or collected[id(child)][1])
        } | {root for child in seen if (key := _target_key(child)) and (root := targets.get(key))}
        if not roots:
            continue
        destination = [v for arg in _destination(node) for v in context.bindings.expand(arg)]
        hosts = sorted(
            {m.group(1).lower() for v in destination for u in _urls_in(v) if (m := _URL.match(u))}
        )
        if any(context.untrusted.search(f"https://{host}/") for host in hosts):
            severity = Severity.CRITICAL
        elif hosts and not any(is_vendor_host(v, h) for v in vendors for h in hosts):
            severity = Severity.HIGH
        else:
            # NOTE: to the service whose key the file holds, the user sends their own files.
            severity = Severity.MEDIUM
        where = ", ".join(hosts) or "an address computed at run time"
        detail = f"{' and '.join(sorted(roots))} collected and sent to {where}"
        yield CodeHit(COLLECTED_UPLOAD, node.lineno, severity, detail, {"hosts": list(hosts)})


def _target_key(node: ast.AST) -> str | None:
    """Return the name or literal path a node spells, to match an archive's target."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _carried(node: ast.Call) -> list[ast.expr]:
    """Return what a request carries: its body keywords, or what follows its address."""
    if call_name(node) in _SOCKET_SENDS or call_name(node) == "send":
        return list(node.args[:1])
    return [*_body_inputs(node), *node.args[1:]]


def _bounded_expand(bindings: Bindings, node: ast.AST) -> Iterator[ast.AST]:
    """Expand a value through five levels of bindings, at most a fixed number of values."""
    for count, value in enumerate(bindings.expand(node, depth=5)):
        if count >= _EXPANSION_BUDGET:
            return
        yield value


def _collected_root(node: ast.Call, bindings: Bindings) -> str | None:
    """Return which user folder a call collects whole (archives, walks, copies), if any."""
    name = call_name(node)
    if name not in _COLLECTORS:
        return None
    if name == "make_archive":
        keywords = {k.arg: k.value for k in node.keywords}
        root = keywords.get("root_dir", node.args[2] if len(node.args) > 2 else None)
        return "the current folder" if root is None else _user_folder(root, bindings)
    if name in ("glob", "iglob") and dotted(node.func) in ("glob.glob", "glob.iglob"):
        return _globbed_folder(node, bindings)
    if name in _ARCHIVE_MEMBERS:
        return _archived_folder(node, bindings)
    target = node.args[0] if node.args else None
    if name in ("rglob", "iterdir", "glob") and isinstance(node.func, ast.Attribute):
        target = node.func.value
    return _user_folder(target, bindings) if target is not None else None


def _archive_of(node: ast.Call, bindings: Bindings) -> ast.Call | None:
    """Return the `tarfile.open` or `zipfile.ZipFile` call that made `node`'s receiver."""
    if not isinstance(node.func, ast.Attribute):
        return None
    for value in bindings.expand(node.func.value, depth=2):
        if isinstance(value, ast.Call) and dotted(value.func) in _ARCHIVE_OPENERS:
            return value
    return None


def _archived_folder(node: ast.Call, bindings: Bindings) -> str | None:
    """Return the user folder a member added to an archive comes from, if any.

    The member is the folder itself (`tar.add(Path.home())`) or a path out of a walk of
    it (`zip.write(os.path.join(root, name))` inside `os.walk(...)`).
    """
    if not node.args or _archive_of(node, bindings) is None:
        return None
    # NOTE: `writestr(name, data)` adds data read elsewhere; `add`/`write` take a path.
    member = node.args[1] if call_name(node) == "writestr" and len(node.args) > 1 else node.args[0]
    folder = _user_folder(member, bindings)
    if folder is not None:
        return folder
    for value in bindings.expand(member, depth=4):
        for child in ast.walk(value):
            if isinstance(child, ast.Call) and call_name(child) in _WALKERS:
                found = _collected_root(child, bindings)
                if found is not None:
                    return found
    return None


def _archive_targets(node: ast.Call, bindings: Bindings) -> set[str]:
    """Return the names and literal paths an archive written by `node` goes into."""
    archive = _archive_of(node, bindings)
    if archive is None:
        return set()
    targets = set()
    for arg in [*archive.args[:1], *(k.value for k in archive.keywords if k.arg in _ARCHIVE_ARGS)]:
        if isinstance(arg, ast.Name):
            targets.add(arg.id)
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            targets.add(arg.value)
    return targets


def _globbed_folder(node: ast.Call, bindings: Bindings) -> str | None:
    """Return the folder a recursive `glob.glob` pattern covers (`~/Documents/**`)."""
    recursive = any(k.arg == "recursive" and _is_true(k.value) for k in node.keywords)
    pattern = node.args[0] if node.args else None
    if pattern is None or not recursive:
        return None
    for value in bindings.expand(pattern, depth=2):
        text = _path_text(value, bindings)
        if text is None or "**" not in text:
            continue
        root = text.split("**", 1)[0].rstrip("/\\") or "."
        folder = _folder_name(root)
        if folder is not None:
            return folder
    return None


def _user_folder(node: ast.AST, bindings: Bindings) -> str | None:
    """Name the user folder a path expression is (home, a folder in it, the project)."""
    for value in bindings.expand(node, depth=3):
        text = _path_text(value, bindings)
        if text is not None and (folder := _folder_name(text)) is not None:
            return folder
    return None


def _path_text(node: ast.AST, bindings: Bindings) -> str | None:
    """Spell a path expression: `~` for the home folder, `.` for the current one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value)
            if isinstance(part, ast.Constant)
            else (_path_text(part.value, bindings) or "*")
            for part in node.values
            if isinstance(part, ast.Constant | ast.FormattedValue)
        )
    if _env_read_name(node) in ("HOME", "USERPROFILE"):
        return "~"
    if isinstance(node, ast.Call):
        return _called_path_text(node, bindings)
    if isinstance(node, ast.Attribute) and node.attr == "stdout":
        return _path_text(node.value, bindings)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _spelled_join(node, bindings)
    return None


def _called_path_text(node: ast.Call, bindings: Bindings) -> str | None:
    name = dotted(node.func)
    if name in _CWD_CALLS or any(
        _constant(child) == "--show-toplevel" for arg in node.args for child in ast.walk(arg)
    ):
        # NOTE: `git rev-parse --show-toplevel` prints the project's root folder.
        return "."
    if call_name(node) in ("strip", "rstrip", "decode") and isinstance(node.func, ast.Attribute):
        return _path_text(node.func.value, bindings)
    if name in _HOME_CALLS:
        return "~"
    if call_name(node) in ("expanduser", "Path", "str", "abspath", "realpath", "resolve"):
        inner = node.args[0] if node.args else None
        if inner is None and isinstance(node.func, ast.Attribute):
            inner = node.func.value
        return _path_text(inner, bindings) if inner is not None else None
    return _spelled_join(node, bindings) if _assembled_path(node) is not None else None


def _spelled_join(node: ast.AST, bindings: Bindings) -> str | None:
    if isinstance(node, ast.BinOp):
        parts: list[ast.expr] = _division_parts(node, _MAX_PATH_PARTS)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (node.func.attr == "joinpath")
    ):
        parts = [node.func.value, *node.args]
    elif isinstance(node, ast.Call):
        parts = list(node.args)
    else:
        return None
    spelled = [_path_text(part, bindings) for part in parts]
    if any(text is None for text in spelled):
        return None
    return "/".join(text for text in spelled if text is not None)


def _folder_name(text: str) -> str | None:
    """Return a description of a path that is a whole user folder, or None."""
    path = text.strip().replace("\\", "/").rstrip("/")
    if path in ("", ".", "./"):
        return "the current folder"
    if path in ("~", "$HOME", "%USERPROFILE%"):
        return "the home folder"
    if path == "/":
        return "the whole disk"
    if path.startswith(("~/", "$HOME/", "%USERPROFILE%/")):
        rest = path.split("/", 1)[1]
        if _USER_FOLDER.match(rest):
            return f"~/{rest}"
    return None


def _env_dump_hits(context: _Context) -> Iterator[CodeHit]:
    facts = context.facts
    if not facts.network:
        return
    child_envs = _names_passed_as_env(context.tree)
    for node, name in _env_dumps(context.tree):
        if name is not None and name in child_envs:
            continue
        severity = Severity.CRITICAL if facts.untrusted_dest else Severity.HIGH
        yield CodeHit(ENV_EXFIL, node.lineno, severity, "the environment is collected")


def _env_dumps(tree: ast.Module) -> Iterator[tuple[ast.expr, str | None]]:
    """Yield whole-environment copies and the name each one is bound to, if any."""
    for node in _walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "env":
            continue
        value, name = _dump_in(node)
        if value is not None:
            yield value, name


def _dump_in(node: ast.AST) -> tuple[ast.expr | None, str | None]:
    if isinstance(node, ast.For) and _is_environ(node.iter):
        tests = [item.test for item in node.body if isinstance(item, ast.If)]
        filtered = bool(tests) and not _selects_secrets(tests)
        return (None, None) if filtered else (node.iter, None)
    if isinstance(node, ast.Assign) and _is_env_dump(node.value):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return node.value, names[0] if names else None
    if isinstance(node, ast.Dict | ast.Call | ast.Tuple | ast.List | ast.Return):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr) and _is_env_dump(child):
                return child, None
    return None, None


def _is_env_dump(node: ast.AST) -> bool:
    if isinstance(node, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return any(
            _is_environ(gen.iter) and (not gen.ifs or _selects_secrets(gen.ifs))
            for gen in node.generators
        )
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        if name == "os.environ.copy":
            return True
        whole = name in ("dict", "json.dumps", "str", "repr", "list") and not node.keywords
        return whole and len(node.args) == 1 and _is_environ(node.args[0])
    if isinstance(node, ast.Dict):
        return len(node.keys) == 1 and node.keys[0] is None and _is_environ(node.values[0])
    return False


def _selects_secrets(tests: list[ast.expr]) -> bool:
    """Return True when a filter keeps variables named like secrets (`"TOKEN" in k`)."""
    return any(
        isinstance(child, ast.Constant)
        and isinstance(child.value, str)
        and bool(_SECRET_NAME.search(child.value))
        for test in tests
        for child in ast.walk(test)
    )


def _is_environ(node: ast.AST) -> bool:
    name = dotted(node)
    return name in ("os.environ", "environ") or (
        isinstance(node, ast.Call) and dotted(node.func) == "os.environ.items"
    )


def _names_passed_as_env(tree: ast.Module) -> set[str]:
    return {
        node.value.id
        for node in _walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "env" and isinstance(node.value, ast.Name)
    }


class _Taint:
    """Which names and parameters carry program input, in a whole module."""

    def __init__(self, tree: ast.Module, bindings: Bindings, *, path_text: bool = False) -> None:
        self._bindings = bindings
        self._path_text = path_text
        self._functions = {
            node.name: node
            for node in _walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self._args_objects = _args_objects(tree)
        self.names: set[str] = set(self._args_objects)
        for _ in range(3):
            if not self._propagate(tree):
                break

    def _propagate(self, tree: ast.Module) -> bool:
        before = len(self.names)
        for name, values in self._bindings.values.items():
            if name not in self.names and any(self._source(v) for v in values):
                self.names.add(name)
        for node in _walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                self._taint_params(node)
        return len(self.names) > before

    def _taint_params(self, node: ast.Call) -> None:
        func = self._functions.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if func is None:
            return
        params = [arg.arg for arg in func.args.args]
        for index, arg in enumerate(node.args[: len(params)]):
            if self._source(arg):
                self.names.add(params[index])

    def _source(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and call_name(node) in _SANITIZERS:
            return False
        if isinstance(node, ast.Attribute) and node.attr in ("name", "stem", "suffix"):
            # NOTE: `path.name` drops every folder part; `args.name` is an option value.
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in self._args_objects):
                return False
        children = self._path_children(node) if self._path_text else ast.walk(node)
        for child in children:
            if _is_input(child) or (isinstance(child, ast.Name) and child.id in self.names):
                return True
        return False

    def _path_children(self, node: ast.AST) -> Iterator[ast.AST]:
        """Walk the parts of `node` whose text can reach a path built from it.

        A library call on input (`Presentation(path)`, `json.load(fh)`) returns data read
        from the input, not the input's text; a hash of input, or the last part of a path
        (`.name`, `.stem`, `.suffix`), holds no folder separator.
        """
        yield node
        owner = node.value if isinstance(node, ast.Attribute) else None
        last_part = isinstance(node, ast.Attribute) and node.attr in ("name", "stem", "suffix")
        if last_part and not (isinstance(owner, ast.Name) and owner.id in self._args_objects):
            return
        children: list[ast.AST] = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in _SANITIZERS or _HASHING.search(name):
                return
            keeps_text = name in _TEXT_KEEPING or name in self._functions
            children = [node.func] if not keeps_text else children
        for child in children:
            yield from self._path_children(child)

    def is_tainted(self, node: ast.AST) -> bool:
        """Return True when the expression carries program input."""
        return self._source(node)


def _args_objects(tree: ast.Module) -> set[str]:
    """Return the names bound to `parse_args()` results."""
    names: set[str] = set()
    for node in _walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if call_name(node.value) in ("parse_args", "parse_known_args"):
            names.update(n for t in node.targets for n in _target_names(t))
    return names


def _is_input(node: ast.AST) -> bool:
    name = dotted(node)
    if name in ("sys.argv", "sys.stdin", "request.args", "request.form", "request.json"):
        return True
    return isinstance(node, ast.Call) and dotted(node.func) in ("input", "sys.stdin.read")


def _traversal_hits(context: _Context) -> Iterator[CodeHit]:
    validates = _rejects_separators(context.tree)
    for function in _scopes(context.tree):
        if _has_containment(function):
            continue
        for join, target in _joins(function, context.bindings):
            tainted = [p for p in _joined_parts(join) if context.path_taint.is_tainted(p)]
            # NOTE: when the base folder is itself the user's choice (an output folder,
            # a folder being walked), no fixed folder is there to escape.
            if not tainted or context.path_taint.is_tainted(_join_base(join)):
                continue
            writes = _is_written(function, join, target, _FILE_WRITES)
            # NOTE: a folder made, or a file whose name ends in a fixed suffix
            # (`f"{entity}.sql"`), cannot become `.bashrc`: generators and scaffolds.
            fixed = all(_has_fixed_suffix(p, context.bindings, 3) for p in tainted)
            # NOTE: a file that tests names for `..` or `/` somewhere validates them,
            # though this flow-insensitive pass cannot tell on which path: medium.
            high = writes and not fixed and not validates
            severity = Severity.HIGH if high else Severity.MEDIUM
            detail = "the joined path is " + ("written" if writes else "read")
            if writes and validates and not fixed:
                detail += ", and the file tests names for `..` or `/` elsewhere"
            elif writes and not high:
                detail += ", but only under a fixed file suffix"
            elif not writes and _is_written(function, join, target, _WRITE_METHODS):
                detail = "a folder is created at the joined path"
            yield CodeHit(PATH_TRAVERSAL, join.lineno, severity, detail)


def _rejects_separators(tree: ast.Module) -> bool:
    """Return True when the file tests some text for `..` or a slash (`".." in name`)."""
    for node in _walk(tree):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)):
            continue
        if node.left.value in ("..", "/", "\\") and isinstance(node.ops[0], ast.In | ast.NotIn):
            return True
    return False


def _has_fixed_suffix(node: ast.AST, bindings: Bindings, depth: int) -> bool:
    """Return True when every value `node` can take ends in a constant file suffix."""
    if isinstance(node, ast.JoinedStr):
        last = node.values[-1] if node.values else None
        return isinstance(last, ast.Constant) and bool(_FIXED_SUFFIX.search(str(last.value)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _has_fixed_suffix(node.right, bindings, depth)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_FIXED_SUFFIX.search(node.value))
    if depth <= 0 or not isinstance(node, ast.Name):
        return False
    values = bindings.values.get(node.id, [])
    return bool(values) and all(_fixed_source(v, bindings, depth - 1) for v in values)


def _fixed_source(value: ast.AST, bindings: Bindings, depth: int) -> bool:
    """Return True for a value with a fixed suffix, or the keys of a dict of such names."""
    func = value.func if isinstance(value, ast.Call) else None
    if (
        isinstance(func, ast.Attribute)
        and func.attr in ("items", "keys")
        and isinstance(func.value, ast.Name)
    ):
        found = bindings.values.get(func.value.id, [])
        dicts = [v for v in found if isinstance(v, ast.Dict)]
        return bool(dicts) and all(
            key is not None and _has_fixed_suffix(key, bindings, depth)
            for mapping in dicts
            for key in mapping.keys
        )
    return _has_fixed_suffix(value, bindings, depth)


def _scopes(tree: ast.Module) -> Iterator[ast.AST]:
    yield tree
    yield from (
        node for node in _walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def _has_containment(scope: ast.AST) -> bool:
    names = {call_name(node) for node in _calls(scope)}
    if names & _CONTAINMENT:
        return True
    return "startswith" in names and bool(names & {"realpath", "resolve", "abspath"})


def _calls(scope: ast.AST) -> Iterable[ast.Call]:
    return (node for node in _walk(scope) if isinstance(node, ast.Call))


def _joins(scope: ast.AST, bindings: Bindings) -> Iterator[tuple[ast.expr, str | None]]:
    """Yield path joins in a scope with the name they are assigned to, if any.

    A join is an argument (`open(base / name)`) or the receiver of a method call
    (`(base / name).write_text(...)`).
    """
    for node in _walk(scope):
        if isinstance(node, ast.Assign) and _is_join(node.value, bindings):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            yield node.value, names[0] if names else None
        elif isinstance(node, ast.Call):
            receiver = [node.func.value] if isinstance(node.func, ast.Attribute) else []
            for arg in [*node.args, *receiver]:
                if _is_join(arg, bindings):
                    yield arg, None


def _is_join(node: ast.AST, bindings: Bindings) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        # NOTE: `len(a) / len(b)` and `total / days` divide numbers: a `/` joins a
        # path only when its left side is one.
        return not is_constant_text(node.right) and _is_path_like(node.left, bindings, 2)
    if isinstance(node, ast.Call) and dotted(node.func) in ("os.path.join", "posixpath.join"):
        return len(node.args) >= 2
    return False


_PATH_NAME = re.compile(
    r"dir|path|root|folder|base|home|dest|out|tmp|temp|cache|storage|file|target|src|repo",
    re.IGNORECASE,
)
_PATH_CALLS = frozenset(
    {"Path", "PurePath", "PosixPath", "WindowsPath", "home", "cwd", "resolve", "absolute",
     "expanduser", "joinpath", "with_name", "with_suffix", "gettempdir", "mkdtemp"}
)  # fmt: skip


def _is_path_like(node: ast.AST, bindings: Bindings, depth: int) -> bool:
    """Return True when `node` can be a path: not a number, a count or an arithmetic result.

    Names are judged by what they were bound to where that is known, else by their
    spelling (`out_dir`, `BASE`, `target`).
    """
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Div) and _is_path_like(node.left, bindings, depth)
    if isinstance(node, ast.Call):
        return call_name(node) in _PATH_CALLS
    if isinstance(node, ast.Attribute):
        return node.attr in ("parent", "parents") or bool(_PATH_NAME.search(node.attr))
    if isinstance(node, ast.Subscript):
        return _is_path_like(node.value, bindings, depth)
    if isinstance(node, ast.Name):
        if _PATH_NAME.search(node.id):
            return True
        values = bindings.values.get(node.id, []) if depth > 0 else []
        return any(_is_path_like(value, bindings, depth - 1) for value in values)
    return False


def _join_base(node: ast.expr) -> ast.expr:
    """Return the folder a join builds under: the left side of `/`, or join's first part."""
    if isinstance(node, ast.BinOp):
        return node.left
    if isinstance(node, ast.Call) and node.args:
        return node.args[0]
    return node


def _joined_parts(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.right]
    if isinstance(node, ast.Call):
        return list(node.args[1:])
    return []


def _is_written(
    scope: ast.AST, join: ast.expr, target: str | None, methods: frozenset[str]
) -> bool:
    for node in _walk(scope):
        if not isinstance(node, ast.Call):
            continue
        uses = [a for a in node.args if a is join or _is_name(a, target)]
        func = node.func
        on_path = isinstance(func, ast.Attribute) and (
            func.value is join or _is_name(func.value, target)
        )
        if on_path and (call_name(node) in methods or _open_mode_writes(node, 0)):
            return True
        if uses and dotted(node.func) in _WRITE_FUNCS and _counts(call_name(node), methods):
            return True
        if uses and call_name(node) == "open" and _open_mode_writes(node, 1):
            return True
    return False


def _counts(name: str, methods: frozenset[str]) -> bool:
    """Return True unless `name` makes a folder and folders are not counted."""
    return name in methods or name not in _FOLDER_MAKERS


def _is_name(node: ast.AST, name: str | None) -> bool:
    return name is not None and isinstance(node, ast.Name) and node.id == name


def _open_mode_writes(node: ast.Call, position: int) -> bool:
    if call_name(node) != "open":
        return False
    mode: ast.AST | None = node.args[position] if len(node.args) > position else None
    for keyword in node.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    return isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")


def _dedupe(hits: list[CodeHit]) -> list[CodeHit]:
    best: dict[tuple[str, int], CodeHit] = {}
    for hit in hits:
        key = (hit.check.id, hit.line)
        if key not in best or hit.severity.rank > best[key].severity.rank:
            best[key] = hit
    return sorted(best.values(), key=lambda hit: (hit.line, hit.check.id))
