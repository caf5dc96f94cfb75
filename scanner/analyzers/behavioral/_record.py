"""Where a front end writes what it finds: flows, capabilities, each recorded once."""

from __future__ import annotations

from scanner.analyzers.behavioral._shellvalues import (
    SECRET_SOURCES,
    Taint,
    Value,
    vendor_matches,
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


class Recorder:
    """Record flows and capabilities of one file into a `LanguageResult`, without repeats."""

    def __init__(self, path: str, result: LanguageResult, language: str) -> None:
        self.path = path
        self.result = result
        self.language = language
        self._seen_flows: set[tuple[object, ...]] = set()
        self._seen_caps: set[tuple[str, Capability, int]] = set()

    def source(self, kind: SourceKind, line: int, detail: str, label: str, text: str) -> Value:
        """Return a value that carries a new taint from a source."""
        if kind in SECRET_SOURCES:
            self.capability(Capability.READ_SECRETS, line, detail)
        step = Step(self.path, line, "source", detail)
        return Value(text, False, (Taint(kind, (step,), (), label),))

    def sink(self, kind: SinkKind, line: int, detail: str, value: Value, dest: str | None) -> None:
        """Record a flow for every taint that reaches a sink (not a token to its vendor)."""
        for taint in value.taints:
            if taint.source is SourceKind.ENV and vendor_matches(taint.label, dest):
                continue
            first = taint.steps[0].line if taint.steps else line
            key = (taint.source, taint.label, first, kind, self.path, line)
            if key in self._seen_flows:
                continue
            self._seen_flows.add(key)
            steps = (*taint.steps, Step(self.path, line, "sink", detail[:200]))
            flow = Flow(
                taint.source, kind, steps, self.language, taint.transforms, dest, taint.label
            )
            self.result.flows.append(flow)

    def capability(self, capability: Capability, line: int, detail: str) -> None:
        """Record that the code uses a capability at a line (once per file and line)."""
        key = (self.path, capability, line)
        if key in self._seen_caps:
            return
        self._seen_caps.add(key)
        self.result.capabilities.append(CapabilityUse(capability, self.path, line, detail[:200]))
