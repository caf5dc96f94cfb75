"""Read SKILL.md frontmatter YAML into JSON values without trusting it.

The mapping is built from the parser's event stream, not from PyYAML's constructor:
aliases are never expanded (each becomes the text ``*anchor``), every duplicate key
is recorded before the last value wins, nesting is capped, and every value is a
JSON value (dates become ISO strings, keys become strings).

Limitations: merge keys (``<<``) are kept as ordinary keys; only the first YAML
document of the block is read.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

import yaml
from pydantic import JsonValue

from scanner.core.models import ManifestIssue

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
# NOTE: longer non-string scalars stay text: int() of a huge digit string is slow.
_MAX_TYPED_SCALAR = 256
_STR_TAG = "tag:yaml.org,2002:str"
_KEY_PREVIEW = 80


class _TooDeepError(Exception):
    """Nesting passed MAX_DEPTH."""


@dataclass
class YamlResult:
    """The frontmatter as data, with what went wrong kept as issues."""

    data: dict[str, JsonValue] = field(default_factory=dict)
    duplicates: dict[str, list[JsonValue]] = field(default_factory=dict)
    issues: list[ManifestIssue] = field(default_factory=list)
    failed: bool = False


@dataclass
class _Frame:
    container: dict[str, JsonValue] | list[JsonValue]
    path: str
    key: str | None = None


class _Builder:
    """Turn parser events into nested dicts and lists, one event at a time."""

    def __init__(self, first_line: int) -> None:
        self.first_line = first_line
        self.stack: list[_Frame] = []
        self.root: JsonValue = None
        self.documents = 0
        self.aliases: list[str] = []
        self.result = YamlResult()

    def feed(self, event: yaml.Event, loader: _Loader) -> bool:
        """Apply one event; return True when reading should stop."""
        line = self.first_line + (event.start_mark.line if event.start_mark else 0)
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self._issue("yaml_error", "only the first YAML document is read", line)
                return True
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._push({} if isinstance(event, yaml.MappingStartEvent) else [])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            self._add(self.stack.pop().container, line)
        elif isinstance(event, yaml.ScalarEvent):
            self._add(_scalar(event, loader), line)
        elif isinstance(event, yaml.AliasEvent):
            self.aliases.append(str(event.anchor))
            self._add(f"*{event.anchor}", line)
        return False

    def _push(self, container: dict[str, JsonValue] | list[JsonValue]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _TooDeepError
        path = ""
        if self.stack:
            parent = self.stack[-1]
            if isinstance(parent.container, list):
                path = f"{parent.path}[{len(parent.container)}]"
            else:
                path = _join(parent.path, parent.key or "?")
        self.stack.append(_Frame(container, path))

    def _add(self, value: JsonValue, line: int) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.key is None:
            frame.key = _key_text(value)
        else:
            self._store(frame, frame.container, frame.key, value, line)
            frame.key = None

    def _store(
        self, frame: _Frame, mapping: dict[str, JsonValue], key: str, value: JsonValue, line: int
    ) -> None:
        if key in mapping:
            path = _join(frame.path, key)
            self.result.duplicates.setdefault(path, [mapping[key]]).append(value)
            shown = path if len(path) <= _KEY_PREVIEW else path[:_KEY_PREVIEW] + "..."
            message = f"key {shown!r} appears more than once; the last value is used"
            self._issue("duplicate_key", message, line)
        mapping[key] = value

    def _issue(self, code: str, message: str, line: int | None) -> None:
        self.result.issues.append(ManifestIssue(code=code, message=message, line=line))

    def finish(self) -> YamlResult:
        """Return the result once every event was fed."""
        if self.aliases:
            names = ", ".join(f"*{name}" for name in sorted(set(self.aliases))[:5])
            message = (
                f"the frontmatter uses {len(self.aliases)} YAML alias(es) ({names}); "
                "they were kept as text and not expanded"
            )
            self._issue("yaml_alias", message, None)
        if isinstance(self.root, dict):
            self.result.data = self.root
        elif self.root is not None:
            self._issue("not_a_mapping", "the frontmatter is not a YAML mapping", None)
        return self.result


def load_mapping(text: str, *, first_line: int) -> YamlResult:
    """Parse frontmatter YAML safely.

    Args:
        text: The YAML between the fences, one line per line of SKILL.md.
        first_line: Line of SKILL.md holding the first line of ``text``.

    Returns:
        The data, duplicates and issues; ``failed`` is True when the YAML could not
        be read to its end (``data`` is then empty and the caller may fall back).
    """
    builder = _Builder(first_line)
    loader = _Loader(text)
    try:
        while (event := loader.get_event()) is not None:
            if builder.feed(event, loader):
                break
    except yaml.YAMLError as exc:
        return _failure("yaml_error", _yaml_message(exc), _error_line(exc, first_line))
    except _TooDeepError:
        return _failure("too_deep", f"the frontmatter nests deeper than {MAX_DEPTH} levels")
    except ValueError as exc:  # NOTE: the C reader raises UnicodeEncodeError on lone surrogates
        return _failure("yaml_error", f"the frontmatter cannot be read as YAML: {exc}")
    finally:
        loader.dispose()
    return builder.finish()


def _failure(code: str, message: str, line: int | None = None) -> YamlResult:
    return YamlResult(issues=[ManifestIssue(code=code, message=message, line=line)], failed=True)


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        context = f" ({exc.context})" if exc.context else ""
        return f"invalid YAML in the frontmatter: {exc.problem}{context}"
    return "invalid YAML in the frontmatter"


def _error_line(exc: yaml.YAMLError, first_line: int) -> int | None:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        return first_line + exc.problem_mark.line
    return None


def _scalar(event: yaml.ScalarEvent, loader: _Loader) -> JsonValue:
    tag = event.tag
    if tag is None or tag == "!":
        # NOTE: the stubs leave Resolver.resolve untyped; it returns the tag string.
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag == _STR_TAG or len(event.value) > _MAX_TYPED_SCALAR:
        return event.value
    node = yaml.ScalarNode(tag, event.value, None, None, event.style)
    try:
        value = loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        # SECURITY: unknown tags (`!!python/object`) and malformed typed values are
        # never constructed; the analyzers still get their text.
        return event.value
    return _json_scalar(value, event.value)


def _json_scalar(value: object, raw: str) -> JsonValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else raw
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return raw


def _key_text(value: JsonValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
