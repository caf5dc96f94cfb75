"""Tree-sitter parsers for shell, JavaScript and TypeScript, built once per process.

Parsers hold compiled grammars and cannot be pickled, so each sandbox worker builds
its own on first use and keeps it for every later file.
"""

from __future__ import annotations

import functools

import tree_sitter_bash
import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Tree


@functools.cache
def _language(name: str) -> Language:
    if name == "bash":
        return Language(tree_sitter_bash.language())
    if name == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    if name == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_javascript.language())


@functools.cache
def parser(name: str) -> Parser:
    """Return the process-wide parser for `bash`, `javascript`, `typescript` or `tsx`."""
    return Parser(_language(name))


def parse(name: str, source: bytes) -> Tree:
    """Parse `source` with the process-wide parser (linear in its size, never recursive)."""
    return parser(name).parse(source)


def node_text(node: Node, limit: int = 4096) -> str:
    """Return the source text of a node, decoded, cut to `limit` characters."""
    raw = node.text or b""
    return raw[: limit * 4].decode("utf-8", "replace")[:limit]


def line_of(node: Node) -> int:
    """Return the 1-based line where a node starts."""
    return node.start_point[0] + 1
