"""Text helpers shared by the analyzers: file types, line numbers, snippets, redaction."""

from __future__ import annotations

import bisect
import re
import unicodedata
from enum import StrEnum

from scanner.core.models import FileKind, SkillFile

SNIPPET_CHARS = 200
SECRET_PREFIX_CHARS = 4


class FileType(StrEnum):
    """What a rule can target; `ANY` matches every text file."""

    MARKDOWN = "markdown"
    PYTHON = "python"
    SHELL = "shell"
    POWERSHELL = "powershell"
    JAVASCRIPT = "javascript"
    CONFIG = "config"
    REQUIREMENTS = "requirements"
    HTML = "html"
    CODE = "code"
    TEXT = "text"
    ANY = "any"


_SUFFIX_TYPES: dict[str, FileType] = {
    **dict.fromkeys((".md", ".markdown", ".mdx", ".mdc"), FileType.MARKDOWN),
    **dict.fromkeys((".py", ".pyw", ".pyi"), FileType.PYTHON),
    **dict.fromkeys(
        (".sh", ".bash", ".zsh", ".ksh", ".fish", ".command", ".bat", ".cmd"), FileType.SHELL
    ),
    **dict.fromkeys((".ps1", ".psm1", ".psd1"), FileType.POWERSHELL),
    **dict.fromkeys(
        (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts"), FileType.JAVASCRIPT
    ),
    **dict.fromkeys(
        (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".properties"),
        FileType.CONFIG,
    ),
    **dict.fromkeys((".html", ".htm", ".xml", ".svg", ".xhtml"), FileType.HTML),
    **dict.fromkeys(
        (".rb", ".pl", ".pm", ".php", ".go", ".rs", ".java", ".kt", ".lua", ".r", ".swift",
         ".c", ".h", ".cc", ".cpp", ".cs", ".vbs", ".applescript", ".tcl", ".awk", ".sql"),
        FileType.CODE,
    ),
}  # fmt: skip

_SHEBANG_TYPES: tuple[tuple[re.Pattern[str], FileType], ...] = (
    (re.compile(r"python|pypy"), FileType.PYTHON),
    (re.compile(r"\b(?:node|deno|bun|tsx|ts-node)\b"), FileType.JAVASCRIPT),
    (re.compile(r"\bpwsh\b|powershell"), FileType.POWERSHELL),
    (re.compile(r"\b(?:ba|z|da|k|fi|c|tc|a)?sh\b"), FileType.SHELL),
)
_SHELL_DOTFILES = frozenset(
    {".bashrc", ".zshrc", ".profile", ".bash_profile", ".zprofile", ".zshenv", ".bash_login"}
)
_CONFIG_DOTFILES = frozenset(
    {".npmrc", ".pypirc", ".netrc", ".gitconfig", ".yarnrc", ".env", ".cursorrules"}
)
_REQUIREMENTS_NAME = re.compile(r"^(?:.*requirements.*\.(?:txt|in)|constraints.*\.txt|pipfile)$")
_ENV_TEMPLATE = re.compile(r"(?:^|[._-])env(?:[._-]|$)")


def file_type(item: SkillFile) -> FileType | None:
    """Return the type rules should treat a file as, or None for a binary file."""
    if item.kind is not FileKind.TEXT or item.text is None:
        return None
    name = item.path.rsplit("/", 1)[-1].lower()
    by_name = _type_by_name(name)
    if by_name is not None:
        return by_name
    known = _SUFFIX_TYPES.get(item.suffix)
    if known is not None and known is not FileType.CODE:
        return known
    return _type_by_shebang(item.text) or known or FileType.TEXT


def _type_by_name(name: str) -> FileType | None:
    if _REQUIREMENTS_NAME.match(name):
        return FileType.REQUIREMENTS
    if name in _SHELL_DOTFILES:
        return FileType.SHELL
    if name in _CONFIG_DOTFILES or name.startswith(".env"):
        return FileType.CONFIG
    if _ENV_TEMPLATE.search(name) and name.endswith((".example", ".sample", ".template")):
        return FileType.CONFIG
    return None


def _type_by_shebang(text: str) -> FileType | None:
    first = text.lstrip("\ufeff")[:200].split("\n", 1)[0]
    if not first.startswith("#!"):
        return None
    for pattern, kind in _SHEBANG_TYPES:
        if pattern.search(first):
            return kind
    return FileType.CODE


def normalize_newlines(text: str) -> str:
    r"""Return `text` with every line break as ``\n``, keeping every offset unchanged.

    ``\r\n`` becomes a space and ``\n``, a lone ``\r`` becomes ``\n``: line numbers
    then agree with the loader's, and ``$`` in a multi-line regex works on CRLF files.
    """
    if "\r" not in text:
        return text
    return text.replace("\r\n", " \n").replace("\r", "\n")


class LineIndex:
    """Map character offsets of a text to 1-based line numbers and back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        """Return the 1-based line holding `offset`."""
        return bisect.bisect_right(self._starts, offset)

    def line_span(self, line: int) -> tuple[int, int]:
        """Return the start and end offsets of a 1-based line, without its newline."""
        start = self._starts[line - 1]
        end = self._starts[line] - 1 if line < len(self._starts) else len(self.text)
        return start, end

    def lines_around(self, start: int, end: int) -> str:
        """Return the full lines that hold the offsets from `start` to `end`."""
        first = self.line_span(self.line_of(start))[0]
        last = self.line_span(self.line_of(max(start, end - 1)))[1]
        return self.text[first:last]

    def line_text(self, line: int) -> str:
        """Return the text of a 1-based line."""
        start, end = self.line_span(line)
        return self.text[start:end]


def mask_secret(value: str) -> str:
    """Return the first characters of a secret followed by ``***``."""
    return value[:SECRET_PREFIX_CHARS] + "***"


def escape_invisible(text: str) -> str:
    r"""Return `text` with control, format and private-use characters as ``\uXXXX``."""
    out: list[str] = []
    for char in text:
        if char in "\t" or unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cn", "Zl", "Zp"):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def make_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Return one trimmed line of evidence, invisible characters escaped, capped."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return escape_invisible(flat)
