"""Mask secrets in every text a finding carries, whichever analyzer wrote it."""

from __future__ import annotations

import re

from pydantic import JsonValue

from scanner.analyzers._prefilter import fold_case
from scanner.analyzers._rules import default_ruleset
from scanner.analyzers._text import mask_secret
from scanner.core.models import Finding

# SECURITY: a credential assigned to a telling name, in code, config or a URL query,
# even where no vendor-specific secret rule recognises its shape. The name is found
# from its keyword on: up to 20 word characters may follow it (`api_key_prod`), and
# any may precede it, which the kept part of the match need not include since it is
# copied as it is. Every quantifier before the value is possessive, so each position
# costs a bounded number of steps (a leading `\w{0,20}` made the engine try 21 name
# lengths at every character: seconds for a snippet of 2 MiB).
_NAMED_SECRET = re.compile(
    r"(?i)((?:secret|passw(?:or)?d|passwd|pwd|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|auth)\w{0,20}+\s*+[=:]\s*+[\"']?)"
    r"([A-Za-z0-9/+_\-.~]{12,})"
)
# Each keyword of _NAMED_SECRET contains one of these (in `fold_case` form).
_NAME_KEYWORDS = ("secret", "passw", "pwd", "token", "api", "access", "private", "auth")


def redact_text(text: str) -> str:
    """Return text with every recognisable secret masked."""
    text = default_ruleset().redact(text)
    folded = fold_case(text)
    if not any(keyword in folded for keyword in _NAME_KEYWORDS):
        return text
    return _NAMED_SECRET.sub(lambda m: m.group(1) + mask_secret(m.group(2)), text)


def _redact_value(value: JsonValue) -> JsonValue:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    return value


def redact_finding(finding: Finding) -> Finding:
    """Return the finding with secrets masked in its title, text, snippet and metadata."""
    return finding.model_copy(
        update={
            "title": redact_text(finding.title),
            "description": redact_text(finding.description),
            "snippet": redact_text(finding.snippet) if finding.snippet else finding.snippet,
            "metadata": {k: _redact_value(v) for k, v in finding.metadata.items()},
        }
    )
