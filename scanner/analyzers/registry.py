"""Explicit registry of analyzers, filled by the `@register` decorator."""

from __future__ import annotations

from typing import TypeVar

from scanner.analyzers.base import Analyzer
from scanner.core.errors import UnknownAnalyzerError

AnalyzerT = TypeVar("AnalyzerT", bound=type[Analyzer])

_CLASSES: dict[str, type[Analyzer]] = {}
_INSTANCES: dict[str, Analyzer] = {}


def register(cls: AnalyzerT) -> AnalyzerT:
    """Add an analyzer class under its `name`; a second class with that name is an error."""
    existing = _CLASSES.get(cls.name)
    if existing is not None and existing is not cls:
        msg = f"analyzer name {cls.name!r} is already registered"
        raise ValueError(msg)
    _CLASSES[cls.name] = cls
    return cls


def names() -> list[str]:
    """Return the registered analyzer names in registration order."""
    return list(_CLASSES)


def analyzer_class(name: str) -> type[Analyzer]:
    """Return the class registered under `name`."""
    try:
        return _CLASSES[name]
    except KeyError:
        msg = f"no analyzer named {name!r}"
        raise UnknownAnalyzerError(msg) from None


def instance(name: str) -> Analyzer:
    """Return this process's single instance of an analyzer, building it on first use."""
    found = _INSTANCES.get(name)
    if found is None:
        found = analyzer_class(name)()
        _INSTANCES[name] = found
    return found


def rule_ids() -> frozenset[str]:
    """Return every rule id the registered analyzers can report."""
    return frozenset().union(*(cls.rule_ids() for cls in _CLASSES.values()))
