"""Abstract values of the Python front end: which sources taint a value, which strings it may be.

A `Value` is what the analysis knows about an expression: the taint labels that
reach it (each with the path it travelled), the literal strings it may hold
(for destinations and file paths) and tags naming the kind of object it is
(an HTTP session, a socket, a file opened for writing). Every part is bounded,
so the fixpoint over a hostile program always ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from scanner.analyzers.behavioral.flow import SourceKind, Step

MAX_STEPS = 14
MAX_TRANSFORMS = 6
MAX_STRINGS = 12
MAX_STRING_CHARS = 400
MAX_LABELS = 24
UNKNOWN = "*"

LabelKey = tuple[SourceKind, str, int, str, tuple[str, ...]]


@dataclass(frozen=True)
class Label:
    """One source's data, with the hops it took to get here."""

    source: SourceKind
    name: str
    """The variable, path or command the data came from."""
    steps: tuple[Step, ...]
    transforms: tuple[str, ...] = ()

    @property
    def key(self) -> LabelKey:
        """Identify the label by origin and transforms, not by the path taken."""
        first = self.steps[0]
        return (self.source, first.file, first.line, self.name, self.transforms)

    def hop(self, step: Step) -> Label:
        """Return the label with one more step (kept while under the cap)."""
        if len(self.steps) >= MAX_STEPS or self.steps[-1] == step:
            return self
        return replace(self, steps=(*self.steps, step))

    def transformed(self, name: str, step: Step) -> Label:
        """Return the label after a transform such as `base64`."""
        if self.transforms and self.transforms[-1] == name:
            return self.hop(step)
        if len(self.transforms) >= MAX_TRANSFORMS:
            return self.hop(step)
        return replace(self.hop(step), transforms=(*self.transforms, name))


@dataclass(frozen=True)
class Value:
    """What may flow through one expression."""

    labels: Mapping[LabelKey, Label] = field(default_factory=dict)
    strings: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    @property
    def tainted(self) -> bool:
        """Return True when any source reaches the value."""
        return bool(self.labels)

    def size(self) -> tuple[int, int, int]:
        """Return the sizes used to detect change during the fixpoint."""
        return len(self.labels), len(self.strings), len(self.tags)

    def merge(self, other: Value) -> Value:
        """Return the union of two values (bounded)."""
        if not other.labels and not other.strings and not other.tags:
            return self
        if not self.labels and not self.strings and not self.tags:
            return other
        labels = dict(self.labels)
        for key, label in other.labels.items():
            if key not in labels and len(labels) < MAX_LABELS:
                labels[key] = label
        return Value(labels, _cap(self.strings | other.strings), self.tags | other.tags)

    def hop(self, step: Step) -> Value:
        """Return the value with `step` added to every label's path."""
        if not self.labels:
            return self
        return replace(self, labels=_relabel(label.hop(step) for label in self.labels.values()))

    def transformed(self, name: str, step: Step) -> Value:
        """Return the value after a transform, applied to every label."""
        labels = _relabel(label.transformed(name, step) for label in self.labels.values())
        return Value(labels, frozenset(), self.tags)

    def only_labels(self) -> Value:
        """Return the value without strings and tags."""
        return Value(self.labels)

    def with_strings(self, strings: Iterable[str]) -> Value:
        """Return the value holding exactly `strings`."""
        return replace(self, strings=_cap(frozenset(strings)))

    def with_tags(self, tags: Iterable[str]) -> Value:
        """Return the value with extra tags."""
        return replace(self, tags=self.tags | frozenset(tags))


EMPTY = Value()


def source_value(label: Label) -> Value:
    """Return a value holding one fresh label."""
    return Value({label.key: label})


def text_value(text: str) -> Value:
    """Return the value of a string literal."""
    return Value(strings=_cap(frozenset({text})))


def merge_all(values: Iterable[Value]) -> Value:
    """Return the union of many values."""
    result = EMPTY
    for value in values:
        result = result.merge(value)
    return result


def concat(left: frozenset[str], right: frozenset[str], sep: str = "") -> frozenset[str]:
    """Return every concatenation of two string sets, unknown parts as `*`."""
    lefts = left or frozenset({UNKNOWN})
    rights = right or frozenset({UNKNOWN})
    if lefts == rights == {UNKNOWN}:
        return frozenset()
    return _cap(frozenset(a + sep + b for a in sorted(lefts) for b in sorted(rights)))


def _relabel(labels: Iterable[Label]) -> dict[LabelKey, Label]:
    out: dict[LabelKey, Label] = {}
    for label in labels:
        out.setdefault(label.key, label)
    return out


def _cap(strings: frozenset[str]) -> frozenset[str]:
    if len(strings) <= MAX_STRINGS and all(len(s) <= MAX_STRING_CHARS for s in strings):
        return strings
    kept = sorted(s[:MAX_STRING_CHARS] for s in strings)[:MAX_STRINGS]
    return frozenset(kept)
