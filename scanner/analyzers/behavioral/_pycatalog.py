"""What the Python front end knows about library calls: sources, transforms and sinks.

Names are canonical dotted names after import aliases are resolved
(`from subprocess import run as r; r(...)` is `subprocess.run`). Path and
command patterns come from the signature rule fragments, so both analyzers
agree on what a credential file or a shell start-up file is.
"""

from __future__ import annotations

import functools
import re

from scanner.analyzers._rules import default_ruleset
from scanner.analyzers.behavioral.flow import SinkKind, SourceKind

SECRET_ENV = re.compile(
    r"TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|COOKIE|SESSION|AUTH|DSN"
    r"|DATABASE_URL|_KEY$|^KEY$|WEBHOOK",
    re.IGNORECASE,
)
HOME_ENV = frozenset({"HOME", "USERPROFILE"})

ENV_READERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.pop"})
ENVIRON = frozenset({"os.environ", "os.environb"})
HOME_CALLS = frozenset({"pathlib.Path.home", "os.path.expanduser", "pathlib.Path.expanduser"})
INPUT_CALLS = frozenset({"input", "raw_input", "sys.stdin.read", "sys.stdin.readline",
                         "sys.stdin.readlines", "fileinput.input", "click.prompt"})  # fmt: skip
INPUT_ATTRIBUTES = frozenset({"sys.argv", "sys.stdin", "sys.orig_argv"})
INPUT_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})
CLIPBOARD_CALLS = frozenset(
    {"pyperclip.paste", "clipboard.paste", "pandas.read_clipboard", "pd.read_clipboard",
     "win32clipboard.GetClipboardData", "xerox.paste", "klembord.get_text"}
)  # fmt: skip
CLIPBOARD_METHODS = frozenset({"clipboard_get", "selection_get"})
KEYCHAIN_CALLS = frozenset({"keyring.get_password", "keyring.get_credential"})
BROWSER_MODULES = frozenset({"browser_cookie3", "pycookiecheat", "browsercookie"})

READ_CALLS = frozenset(
    {"open", "io.open", "codecs.open", "builtins.open", "sqlite3.connect", "shutil.copy",
     "shutil.copyfile", "shutil.copy2", "shutil.copytree", "shutil.make_archive",
     "configparser.ConfigParser.read", "dotenv.dotenv_values"}
)  # fmt: skip
READ_METHODS = frozenset({"read_text", "read_bytes", "open", "add", "write"})
LIST_CALLS = frozenset({"glob.glob", "glob.iglob", "os.walk", "os.listdir", "os.scandir"})
LIST_METHODS = frozenset({"glob", "rglob", "iterdir", "walk"})

# Calls whose result carries no data of their arguments (predicates, sizes, numbers).
CLEAN_CALLS = frozenset(
    {"len", "int", "float", "bool", "isinstance", "issubclass", "hasattr", "callable", "id",
     "hash", "type", "round", "abs", "os.path.exists", "os.path.isfile", "os.path.isdir",
     "os.path.getsize", "shutil.which", "time.time", "print", "range", "enumerate.count",
     "re.compile", "logging.getLogger"}
)  # fmt: skip
CLEAN_METHODS = frozenset(
    {"startswith", "endswith", "isdigit", "isalpha", "isalnum", "isnumeric", "isspace",
     "exists", "is_file", "is_dir", "count", "index", "find", "rfind", "stat", "hexdigest",
     "digest", "mkdir", "unlink", "close", "raise_for_status", "keys", "is_absolute"}
)  # fmt: skip
HASHES = frozenset({"hashlib.sha256", "hashlib.sha1", "hashlib.md5", "hashlib.sha512",
                    "hashlib.blake2b", "hmac.new", "hmac.compare_digest"})  # fmt: skip
SANITIZERS = frozenset({"shlex.quote", "pipes.quote", "shlex.join"})
PATH_SANITIZERS = frozenset({"os.path.basename", "werkzeug.utils.secure_filename"})

TRANSFORMS: dict[str, str] = {
    **dict.fromkeys(
        ("b64encode", "b32encode", "b16encode", "b85encode", "a85encode", "urlsafe_b64encode",
         "standard_b64encode", "encodebytes", "b2a_base64"), "base64"),
    **dict.fromkeys(("hexlify", "b2a_hex", "hex"), "hex"),
    **dict.fromkeys(("compress",), "compress"),
    **dict.fromkeys(("encrypt", "encrypt_and_digest", "seal"), "encrypt"),
    **dict.fromkeys(("dumps", "dump"), "serialize"),
    **dict.fromkeys(("quote", "quote_plus", "urlencode", "quote_from_bytes"), "urlencode"),
    **dict.fromkeys(
        ("b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "urlsafe_b64decode",
         "standard_b64decode", "decodebytes", "a2b_base64", "unhexlify", "a2b_hex", "fromhex",
         "decompress"), "decode"),
}  # fmt: skip
DECODERS = frozenset(name for name, kind in TRANSFORMS.items() if kind == "decode")
TRANSFORM_MODULES = frozenset(
    {"base64", "binascii", "zlib", "gzip", "bz2", "lzma", "json", "pickle", "marshal",
     "urllib", "codecs", "bytes", "cryptography", "Crypto", "nacl", "fernet"}
)  # fmt: skip

CLIENT_TAGS: dict[str, str] = {
    **dict.fromkeys(
        ("requests.Session", "requests.session", "httpx.Client", "httpx.AsyncClient",
         "aiohttp.ClientSession", "urllib3.PoolManager", "http.client.HTTPConnection",
         "http.client.HTTPSConnection", "urllib.request.build_opener",
         "urllib3.HTTPConnectionPool"),
        "http"),
    **dict.fromkeys(("socket.socket", "socket.create_connection", "ssl.wrap_socket",
                     "websocket.create_connection", "websockets.connect"), "socket"),
    **dict.fromkeys(("smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"), "smtp"),
    **dict.fromkeys(("dns.resolver.Resolver",), "dns"),
    **dict.fromkeys(("ftplib.FTP", "ftplib.FTP_TLS", "paramiko.SSHClient"), "socket"),
}  # fmt: skip
TAG_METHODS: dict[str, tuple[frozenset[str], SinkKind]] = {
    "http": (frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request",
                        "stream", "send", "open", "urlopen", "putrequest"}), SinkKind.HTTP),
    "socket": (frozenset({"send", "sendall", "sendto", "sendmsg", "storbinary", "storlines",
                          "exec_command", "connect"}), SinkKind.SOCKET),
    "smtp": (frozenset({"sendmail", "send_message"}), SinkKind.SMTP),
    "dns": (frozenset({"resolve", "query"}), SinkKind.DNS),
}  # fmt: skip
NETWORK_CALLS: dict[str, SinkKind] = {
    **{f"{lib}.{verb}": SinkKind.HTTP
       for lib in ("requests", "httpx", "requests.api")
       for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request",
                    "stream")},
    **dict.fromkeys(("urllib.request.urlopen", "urllib.request.urlretrieve",
                     "urllib2.urlopen", "urllib.urlopen", "aiohttp.request"), SinkKind.HTTP),
    **dict.fromkeys(("socket.gethostbyname", "socket.gethostbyname_ex", "socket.getaddrinfo",
                     "socket.gethostbyaddr", "dns.resolver.resolve", "dns.resolver.query",
                     "socket.getnameinfo"), SinkKind.DNS),
    **dict.fromkeys(("socket.create_connection",), SinkKind.SOCKET),
}  # fmt: skip
NETWORK_READ_METHODS = frozenset({"recv", "recvfrom", "recv_into", "recvmsg", "read", "json"})
HTTP_DATA_ONLY = frozenset({"urllib.request.Request"})

SHELL_CALLS = frozenset(
    {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
     "commands.getoutput", "asyncio.create_subprocess_shell"}
)  # fmt: skip
SUBPROCESS_CALLS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
     "subprocess.Popen", "asyncio.create_subprocess_exec", "sh.Command", "plumbum.local"}
)  # fmt: skip
EXEC_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn", "pty.spawn")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/bash",
                    "/bin/zsh", "cmd", "cmd.exe", "powershell", "pwsh"})  # fmt: skip
EVAL_CALLS = frozenset(
    {"eval", "exec", "compile", "builtins.eval", "builtins.exec", "execfile", "runpy.run_path",
     "runpy.run_module", "code.InteractiveInterpreter.runsource"}
)  # fmt: skip
UNPICKLE_CALLS = frozenset({"pickle.loads", "pickle.load", "marshal.loads", "dill.loads"})
IMPORT_CALLS = frozenset({"importlib.import_module", "__import__", "builtins.__import__"})
DANGEROUS_OWNERS = frozenset({"os", "subprocess", "builtins", "__builtins__", "shutil", "sys"})

WRITE_METHODS = frozenset({"write", "writelines"})
PATH_WRITE_METHODS = frozenset({"write_text", "write_bytes"})
DUMP_CALLS = frozenset({"json.dump", "yaml.dump", "yaml.safe_dump", "pickle.dump", "toml.dump"})
COPY_CALLS = frozenset({"shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move",
                        "os.symlink", "os.rename", "os.replace", "shutil.copytree"})  # fmt: skip
CONTAINMENT = frozenset({"is_relative_to", "relative_to", "commonpath", "commonprefix"})
REAL_PATHS = frozenset({"realpath", "resolve", "abspath", "normpath"})
MUTATORS = frozenset({"append", "extend", "update", "insert", "add", "setdefault", "put",
                      "appendleft", "writestr", "push", "__setitem__"})  # fmt: skip
COMMON_METHODS = frozenset(
    {"get", "post", "put", "read", "write", "run", "send", "open", "close", "update", "append",
     "items", "keys", "values", "format", "join", "split", "strip", "json", "decode", "encode",
     "copy", "add", "pop", "remove", "search", "match", "sub", "find", "replace", "lower",
     "upper", "start", "stop", "connect", "execute", "fetchall", "fetchone", "load", "dump",
     "dumps", "loads", "call", "main", "request", "render", "parse", "process", "handle"}
)  # fmt: skip
GIT_REMOTE_VERBS = frozenset({"push", "remote", "clone", "fetch", "ls-remote", "pull"})

_KEYCHAIN_CMD = r"\bsecurity\s+(?:find-(?:generic|internet)-password|dump-keychain)|secret-tool\s+lookup|\bpass\s+show\b|\bkeyctl\s+print"  # noqa: E501
_CLIPBOARD_CMD = r"\bpbpaste\b|\bxclip\b[^|;]*-o|\bxsel\b|\bwl-paste\b|Get-Clipboard"
_ENV_CMD = r"^\s*(?:printenv|env|set|export\s+-p)\s*$"
_BROWSER = (
    r"Login Data|Cookies|logins\.json|key4\.db|cookies\.sqlite|Local State|Web Data"
    r"|signons\.sqlite|Keychains?/|\.kdbx\b|wallet\.dat"
)
_PERSISTENCE = (
    r"{{shell_rc}}|crontab|/etc/cron|/var/spool/cron|systemd/|\.service$|LaunchAgents"
    r"|LaunchDaemons|authorized_keys|\.git/hooks|/etc/rc\.local|/etc/profile|autostart"
    r"|sitecustomize\.py|usercustomize\.py|\.pth$|Startup/|/etc/ld\.so\.preload|{{agent_files}}"
)
_TEMP = r"^(?:/tmp/|/var/tmp/|/dev/(?:null|stdout|stderr)$|\*)"


class Patterns:
    """The compiled path and command patterns (built once per worker)."""

    def __init__(self) -> None:
        rules, flags = default_ruleset(), re.IGNORECASE
        self.credential = re.compile(rules.expand("{{secret_path}}|{{dotenv}}"), flags)
        self.agent = re.compile(rules.expand("{{agent_files}}|\\.claude[/\\\\]"), flags)
        self.browser = re.compile(_BROWSER)
        self.persistence = re.compile(rules.expand(_PERSISTENCE), flags)
        self.untrusted = re.compile(rules.expand("{{untrusted_dest}}"), flags)
        self.keychain_cmd = re.compile(_KEYCHAIN_CMD, flags)
        self.clipboard_cmd = re.compile(_CLIPBOARD_CMD, flags)
        self.env_cmd = re.compile(_ENV_CMD, flags)
        self.temp = re.compile(_TEMP)

    def file_source(self, path: str) -> SourceKind | None:
        """Return the kind of secret a path names, or None for an ordinary file."""
        if self.credential.search(path):
            return SourceKind.CREDENTIAL_FILE
        if self.browser.search(path):
            return SourceKind.BROWSER_STORE
        if self.agent.search(path):
            return SourceKind.AGENT_CONFIG
        return None

    def command_source(self, command: str) -> SourceKind | None:
        """Return the kind of secret a command prints, or None."""
        if self.keychain_cmd.search(command):
            return SourceKind.KEYCHAIN
        if self.clipboard_cmd.search(command):
            return SourceKind.CLIPBOARD
        if self.env_cmd.search(command):
            return SourceKind.ENV
        return self.file_source(command)

    def is_outside(self, path: str) -> bool:
        """Return True for a write target outside the skill and the temp folders."""
        if self.temp.search(path):
            return False
        return path.startswith(("/", "~")) or bool(re.match(r"^[A-Za-z]:[/\\\\]", path))


@functools.cache
def patterns() -> Patterns:
    """Return this process's compiled patterns."""
    return Patterns()
