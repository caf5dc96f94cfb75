"""The language-neutral result of a dataflow pass: flows, capabilities, budget.

Each language front end (Python, shell, JavaScript) turns a skill's files
into a `LanguageResult`; the behavioral analyzer turns those into findings.
Nothing here knows about a particular language or about severities.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class SourceKind(StrEnum):
    """Where sensitive or untrusted data comes from."""

    ENV = "env"
    CREDENTIAL_FILE = "credential_file"
    AGENT_CONFIG = "agent_config"
    BROWSER_STORE = "browser_store"
    KEYCHAIN = "keychain"
    CLIPBOARD = "clipboard"
    USER_FILE = "user_file"
    COMMAND_OUTPUT = "command_output"
    NETWORK = "network"
    USER_INPUT = "user_input"
    FILE = "file"
    """A file of the skill or project read by path (a config file, a template)."""
    ENCODED_LITERAL = "encoded_literal"
    """A literal of the code itself, decoded or decompressed at run time."""


class SinkKind(StrEnum):
    """Where data ends up."""

    HTTP = "network.http"
    SOCKET = "network.socket"
    DNS = "network.dns"
    SMTP = "network.smtp"
    GIT = "network.git"
    PROCESS = "exec.process"
    SHELL = "exec.shell"
    EVAL = "exec.eval"
    DYNAMIC_IMPORT = "exec.import"
    PERSISTENCE_WRITE = "write.persistence"
    FILE_WRITE = "write.file"


class Capability(StrEnum):
    """What a skill's code can do, compared with what it declares."""

    READ_SECRETS = "read_secrets"
    NETWORK = "network"
    EXECUTE = "execute"
    PERSIST = "persist"
    WRITE_FILES = "write_files"
    WRITE_OUTSIDE = "write_outside"


@dataclass(frozen=True)
class Step:
    """One hop of a flow: where it happens and what happens there."""

    file: str
    line: int
    role: str
    """`source`, `transform`, `step` (assignment, call, return) or `sink`."""
    detail: str


@dataclass(frozen=True)
class Flow:
    """Data from a source reaching a sink, with every hop in between."""

    source: SourceKind
    sink: SinkKind
    steps: tuple[Step, ...]
    language: str
    transforms: tuple[str, ...] = ()
    """Names such as `base64`, `hex`, `zlib`, `encrypt`, `concat`, in order."""
    destination: str | None = None
    """The literal host, URL or command at the sink when it is known."""
    origin: str | None = None
    """What the source read, when it is known: a variable name, a path, a URL or a command."""
    qualifiers: tuple[str, ...] = ()
    """Facts about the sink that move severity, such as `restricted_builtins`."""


@dataclass(frozen=True)
class CapabilityUse:
    """Evidence that the code uses one capability."""

    capability: Capability
    file: str
    line: int
    detail: str


@dataclass(frozen=True)
class Incomplete:
    """A file or skill the pass could not finish (budget, parse error, size)."""

    file: str
    reason: str
    """`time_budget`, `size_budget`, `parse_error`, `depth` or `skill_budget`."""
    detail: str = ""


@dataclass
class LanguageResult:
    """What one language front end found in a skill."""

    flows: list[Flow] = field(default_factory=list)
    capabilities: list[CapabilityUse] = field(default_factory=list)
    incomplete: list[Incomplete] = field(default_factory=list)

    def extend(self, other: LanguageResult) -> None:
        """Add another result's items to this one."""
        self.flows.extend(other.flows)
        self.capabilities.extend(other.capabilities)
        self.incomplete.extend(other.incomplete)


class BudgetExceededError(Exception):
    """Raised by `Budget.tick` when the file's or the skill's time is spent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """Time and size limits for one skill, checked cheaply from inner loops.

    Call `start_file` before each file, then `tick` from loops over nodes;
    the clock is read once every `check_every` ticks.
    """

    def __init__(
        self,
        *,
        skill_seconds: float = 20.0,
        file_seconds: float = 5.0,
        max_file_bytes: int = 2_000_000,
        check_every: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.skill_seconds = skill_seconds
        self.file_seconds = file_seconds
        self.max_file_bytes = max_file_bytes
        self._check_every = check_every
        self._clock = clock
        self._skill_start = clock()
        self._file_start = self._skill_start
        self._ticks = 0

    def start_file(self) -> None:
        """Begin timing a new file; raise if the skill's budget is already spent."""
        self._file_start = self._clock()
        if self._file_start - self._skill_start > self.skill_seconds:
            raise BudgetExceededError("skill_budget")

    def tick(self) -> None:
        """Count one unit of work; raise when a time limit has passed."""
        self._ticks += 1
        if self._ticks % self._check_every:
            return
        now = self._clock()
        if now - self._skill_start > self.skill_seconds:
            raise BudgetExceededError("skill_budget")
        if now - self._file_start > self.file_seconds:
            raise BudgetExceededError("time_budget")
