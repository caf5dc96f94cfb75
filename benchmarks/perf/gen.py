"""Deterministic inputs of the performance benchmark: skills, batches, archives, text.

Every generator takes a seed and writes the same bytes for the same arguments, so two
runs (and two servers in one run) scan identical inputs. The text is ordinary skill
material (Markdown instructions, Python and shell helpers) with a sprinkling of the
constructs the rules look at (subprocess calls, URLs, file access), not attacks.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * 1024

_WORDS = (
    "format",
    "convert",
    "table",
    "column",
    "report",
    "summary",
    "input",
    "output",
    "value",
    "record",
    "field",
    "document",
    "section",
    "heading",
    "list",
    "item",
    "parse",
    "render",
    "export",
    "import",
    "check",
    "verify",
    "update",
    "request",
    "response",
    "status",
    "result",
    "option",
    "setting",
    "config",
    "default",
    "example",
    "user",
    "project",
    "folder",
    "file",
    "path",
    "name",
    "size",
    "count",
    "total",
    "average",
    "number",
    "string",
)

_MD_LINES = (
    "## {W} the {w}",
    "Use this skill to {w} the {w} {w} and {w} the {w}.",
    "1. Read the {w} {w} from the {w}.",
    "- Keep each {w} under {n} characters.",
    "Run `python scripts/{w}.py --{w} {n}` to {w} the {w}.",
    "See https://docs.example.com/{w}/{w} for the {w} format.",
    "| {w} | {w} | {n} |",
    "> Note: the {w} must be {w} before the {w} step.",
    "```bash\npython scripts/{w}.py {w}.csv\n```",
)
_PY_LINES = (
    "def {w}_{w}({w}, {w}={n}):",
    '    """Return the {w} of a {w}."""',
    "    {w} = [{w} for {w} in {w} if {w}]",
    "    return {w}.get('{w}', {n})",
    "import json",
    "from pathlib import Path",
    "    with open(path, encoding='utf-8') as fh:",
    "        data = json.load(fh)",
    "    result = subprocess.run(['git', 'status'], capture_output=True, check=False)",
    "    if {w} > {n}:",
    "        raise ValueError('{w} {w} is too large')",
    "# {W} the {w} before the {w}",
    "",
)
_SH_LINES = (
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    'for f in "$@"; do',
    '  echo "{w} $f"',
    "done",
    "python3 scripts/{w}.py --{w} {n}",
    'mkdir -p "./{w}"',
    "# {w} the {w} {w}",
    'grep -c "{w}" "$1" || true',
)
_KINDS = (("md", _MD_LINES), ("py", _PY_LINES), ("sh", _SH_LINES))


def _line(rng: random.Random, templates: tuple[str, ...]) -> str:
    template = rng.choice(templates)
    while "{w}" in template or "{W}" in template or "{n}" in template:
        word = rng.choice(_WORDS)
        template = template.replace("{w}", word, 1).replace("{W}", word.title(), 1)
        template = template.replace("{n}", str(rng.randint(1, 500)), 1)
    return template


def text(kind: str, size: int, seed: int) -> str:
    """Return about `size` bytes of `kind` text ("md", "py" or "sh")."""
    templates = dict(_KINDS)[kind]
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        line = _line(rng, templates)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def skill_md(name: str, body_bytes: int, seed: int) -> str:
    """Return a SKILL.md with valid frontmatter and about `body_bytes` of instructions."""
    head = f"---\nname: {name}\ndescription: Formats and checks {name} tables for reports.\n---\n"
    return head + f"# {name}\n\n" + text("md", body_bytes, seed)


@dataclass(frozen=True)
class SkillShape:
    """How big a generated skill is: its file count and total text bytes."""

    label: str
    files: int
    total_bytes: int


SMALL = SkillShape("small", 3, 3 * KIB)
# NOTE: SKILL.md, a reference and two scripts, 6 KiB each: public skills weigh 8 KiB at
# the median and 17 KiB at the third quartile, so this is a typical skill on the heavy side.
TYPICAL = SkillShape("typical", 4, 24 * KIB)
MEDIUM = SkillShape("medium", 20, 500 * KIB)
LARGE = SkillShape("large", 200, 20 * MIB)


def write_skill(folder: Path, shape: SkillShape, seed: int) -> Path:
    """Write a skill of `shape` under `folder` (SKILL.md plus scripts and references)."""
    folder.mkdir(parents=True, exist_ok=True)
    per_file = max(256, shape.total_bytes // shape.files)
    (folder / "SKILL.md").write_text(skill_md(folder.name, per_file, seed))
    for index in range(1, shape.files):
        ext, _ = _KINDS[(index - 1) % 3 if shape.files > 3 else index]
        sub = "references" if ext == "md" else "scripts"
        path = folder / sub / f"part_{index:03d}.{ext}"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text(ext, per_file, seed * 1000 + index))
    return folder


def write_batch(folder: Path, count: int, seed: int) -> Path:
    """Write `count` small skills, each different, as sub-folders of `folder`."""
    for index in range(count):
        write_skill(folder / f"skill-{index:05d}", SMALL, seed + index)
    return folder


ASSET_TEXT = SkillShape("assets", 10, 100 * KIB)
_PNG = b"\x89PNG\r\n\x1a\n"


def write_asset_skill(folder: Path, archive_bytes: int, seed: int) -> Path:
    """Write a skill of 10 text files (100 KiB) plus binary assets (PNG-like, random).

    The assets make the deflated archive about `archive_bytes` long: most real skills
    that weigh megabytes do so through images, fonts or data, not through scripts.
    """
    write_skill(folder, ASSET_TEXT, seed)
    rng = random.Random(seed)
    remaining = max(0, archive_bytes - ASSET_TEXT.total_bytes // 3)
    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    index = 0
    while remaining > 0:
        size = min(remaining, 2 * MIB)
        (assets / f"image_{index:02d}.png").write_bytes(_PNG + rng.randbytes(size - len(_PNG)))
        remaining -= size
        index += 1
    return folder


def zip_skill(folder: Path, dest: Path, *, deflate: bool = False) -> int:
    """Zip a skill folder (stored by default: archive bytes = file bytes); return its size."""
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(dest, "w", method) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return dest.stat().st_size


def mixed_text_files(
    total_bytes: int, seed: int, file_bytes: int = 64 * KIB
) -> Iterator[tuple[str, str]]:
    """Yield (relative path, text) pairs of mixed Markdown, Python and shell."""
    count = max(1, total_bytes // file_bytes)
    for index in range(count):
        ext, _ = _KINDS[index % 3]
        yield f"part_{index:04d}.{ext}", text(ext, file_bytes, seed + index)


def multipart_head(boundary: str, filename: str = "huge.zip") -> bytes:
    """Return the start of a multipart body whose `file` part follows."""
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()


def endless_zip_bytes(total: int, chunk: int = 64 * KIB) -> Iterator[bytes]:
    """Yield `total` bytes (a ZIP local header, then filler) without holding them."""
    block = bytes(range(256)) * (chunk // 256)
    yield b"PK\x03\x04" + block[4:]
    sent = chunk
    while sent < total:
        step = min(chunk, total - sent)
        yield block[:step]
        sent += step
