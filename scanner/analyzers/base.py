"""The analyzer interface: a pure function from a package to findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from scanner.core.models import Finding, SkillPackage


class Activation(BaseModel):
    """What turns an analyzer on: always, a request flag, a policy key or an env var."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    detail: str


class Analyzer(ABC):
    """Base of every analyzer.

    Subclasses set `name` (public API, never renamed), `description` and
    `activation`, and implement `analyze`. An instance is built once per
    sandbox worker, so expensive set-up (compiling rules) belongs in
    `__init__`. `analyze` must not touch files, the network or the clock.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    activation: ClassVar[Activation] = Activation(kind="default", detail="always on")
    RULES: ClassVar[tuple[str, ...]] = ()
    """Ids of the checks written in code, each documented with a hit and a near miss in
    `scanner/rules/checks/<name>.yaml` (see `_catalogue`). Rules kept as data with their
    own examples (YAML packs, YARA rules) are not listed here: an analyzer that applies
    them adds them in its own `rule_count`."""

    @classmethod
    def rule_ids(cls) -> frozenset[str]:
        """Return every rule id this analyzer can report, as policies may name them."""
        return frozenset(cls.RULES)

    def rule_count(self) -> int:
        """Return how many rules or checks this analyzer applies."""
        return len(self.RULES)

    @abstractmethod
    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the findings for one package."""

    def run(self, package: SkillPackage) -> list[Finding]:
        """Analyze a package, then mask secrets in everything the findings carry."""
        from scanner.analyzers._redact import redact_finding

        return [redact_finding(finding) for finding in self.analyze(package)]
