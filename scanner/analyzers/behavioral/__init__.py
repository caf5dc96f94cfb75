"""Follow data through a skill's code, across functions and files (the `behavioral` analyzer).

Turned on by the request flag `use_behavioral` (CLI `--use-behavioral`). Each
language front end (`python.py`, `shell.py` for scripts and Markdown shell blocks,
`js.py` for JavaScript, TypeScript and npm lifecycle scripts; all in `FRONT_ENDS`)
returns flows from a source to a sink with every hop in between; this module
judges them. Every finding carries the path in `metadata["flow"]` (a list of
`{file, line, role, detail}`, roles `source`, `step`, `transform`, `sink`),
plus `source`, `sink`, `transforms` and `destination`. A finding is located at
the sink.

Rules:
    behavioral.secret-exfiltration (critical/high/low): environment secrets,
        cloud SDK credentials (boto3 frozen credentials, Secrets Manager values,
        `google.auth.default`), credential and key files, agent configs, browser and
        keychain stores, the clipboard or files listed from the home folder reach an HTTP client, a
        socket, a DNS lookup, SMTP, `git push` or a download command. Critical to
        an untrusted host (raw IP, paste site, tunnel, `.invalid`, plain HTTP), after
        encoding (base64, hex, compression, encryption, XOR), or through DNS names
        built from encoded data; high otherwise; medium when the request's address is
        built from an address variable the user sets (`AGENT_RELAY_URL`); low when a
        variable named after a vendor (`GITHUB_TOKEN`) goes to a literal URL of that
        vendor's host.
    behavioral.command-injection (high/medium): program input reaches a shell
        (`shell=True`, `os.system`, `sh -c`): high; input that picks the program or
        builds the argument list without a shell, or a shell command read from a
        file (a config naming the command), is medium. `shlex.quote` clears it.
    behavioral.code-injection (high/medium/low): program input reaches `eval`,
        `exec`, `compile` or `runpy` (high; medium with `__builtins__` removed or
        for code read from a file); `importlib.import_module` by input (medium);
        `getattr` with a computed name (low, high on `os`, `subprocess`, builtins).
    behavioral.remote-code-execution (critical): data from the network is
        executed, imported, unpickled or written into a start-up location.
    behavioral.obfuscated-execution (critical): a literal of the code is decoded
        or decompressed and then executed.
    behavioral.persistence (high; medium when SKILL.md says so): the code writes
        shell start-up files, crontab, systemd units, LaunchAgents,
        `authorized_keys`, git hooks or agent settings and instruction files.
    behavioral.path-traversal (high/medium): program input is joined under a
        folder and the result is written, with no containment check in that function;
        medium when the input travelled through more than a few steps or files.
    behavioral.undeclared-capability (medium/low): the code reads secrets
        (medium), uses the network, runs programs or writes outside its folder
        (low) while neither `allowed-tools` nor the description and body of
        SKILL.md mention it.
    behavioral.incomplete (medium; low for a file that is not valid Python): a
        file or the skill ran out of its time or size budget, or was too deeply
        nested to parse; the analysis is partial and says so.

False positives: a helper called from several places is analysed once
(context-insensitive), so a credential path passed to it in one call can taint
what it returns in another; whole-environment copies filtered by prefix are
still reported; vendor matching uses the variable's first word, so
`MYAPP_TOKEN` sent to `api.myapp.io` is low but `TOKEN` alone to any host is high.

Limitations:
    Flow-insensitive within a function (an overwritten variable keeps its old
    sources); containers are one cell; methods are resolved by `self`, by class
    instances built in the skill, or by a unique method name. Calls through
    `getattr`, decorators that replace functions, and `*args` forwarding are not
    followed (#4). Only Python is analysed until the shell and JavaScript front
    ends land. Commands read from a config file are reported without reading the
    file's content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scanner.analyzers.base import Activation, Analyzer
from scanner.analyzers.behavioral import js, python, shell
from scanner.analyzers.behavioral._judge import RULES, Judge
from scanner.analyzers.behavioral.flow import Budget, LanguageResult
from scanner.analyzers.registry import register
from scanner.core.models import Finding, SkillFile, SkillPackage

FrontEnd = Callable[[Sequence[SkillFile], Budget], LanguageResult]
FRONT_ENDS: tuple[FrontEnd, ...] = (python.analyze, shell.analyze, js.analyze)

__all__ = ["FRONT_ENDS", "BehavioralAnalyzer"]


@register
class BehavioralAnalyzer(Analyzer):
    """Run each language front end with one budget and judge the flows they find."""

    name = "behavioral"
    description = (
        "Dataflow across functions and files: secrets to the network, input to shells "
        "and eval, downloads executed, persistence, capabilities the manifest does not declare."
    )
    activation = Activation(kind="flag", detail="use_behavioral")
    RULES = RULES

    def __init__(self, budget_factory: Callable[[], Budget] = Budget) -> None:
        """Keep how to make a fresh budget for each skill."""
        self._budget_factory = budget_factory

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the findings of every front end on one package."""
        budget = self._budget_factory()
        combined = LanguageResult()
        for front_end in FRONT_ENDS:
            combined.extend(front_end(package.files, budget))
        return Judge(package, self.name).findings(combined)
