"""Logging set-up: JSON lines for the server, `key=value` for the CLI.

Only this module adds handlers. Every record gets the current `scan_id` from a
context variable, so log lines of one scan can be grouped.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

scan_id_var: ContextVar[str | None] = ContextVar("scan_id", default=None)

_FIELDS = (
    "scan_id",
    "analyzer",
    "rule_id",
    "path",
    "duration_ms",
    "findings",
    "status",
    "code",
    "error",
    "where",
)


class _ScanIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "scan_id", None) is None:
            record.scan_id = scan_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for a record."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class KeyValueFormatter(logging.Formatter):
    """Render a record as `level message key=value ...` for terminals."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the text line for a record."""
        pairs = [
            f"{field}={getattr(record, field)}"
            for field in _FIELDS
            if getattr(record, field, None) is not None
        ]
        line = " ".join([record.levelname.lower(), record.getMessage(), *pairs])
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(*, json_lines: bool, level: int = logging.INFO) -> None:
    """Send the scanner's logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    handler.addFilter(_ScanIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def current_format() -> tuple[bool, int] | None:
    """Return (JSON lines?, level) of the set-up `configure` made, or None if none was made.

    Sandbox workers are separate interpreters; they repeat the parent's set-up with this.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return True, root.level
        if isinstance(handler.formatter, KeyValueFormatter):
            return False, root.level
    return None
