"""Check what each file really is against its name, and account for every skipped entry.

Rules:
    files.executable (high; critical when its printable strings pair a credential store
        with an untrusted destination): an ELF, PE or Mach-O binary ships in the skill;
        nothing in it can be reviewed, and the agent can be told to run it.
    files.disguised-executable (critical): that binary is named like text, an image, a
        font or a document (`LICENSE.txt`).
    files.disguised-archive (high): an archive named like text, an image, a font or a
        non-archive document.
    files.disguised-script (high): a script (shebang) named like text or data, or text
        named like an image, font or document.
    files.encoded-binary (high, critical for executables): a text file that is nothing
        but base64 or hex of an executable, bytecode or archive. Encoded images are normal.
    files.disguised-binary (high): Python bytecode, a pickle, a Java class or WebAssembly
        named like text, an image, a font or a document (`config.json` that is a pickle).
    files.compiled-without-source (high; critical when the bytecode reaches out (a network
        module, a URL or an IP) and also names a credential store or imports a module that
        runs commands, or its strings trip high signatures): Python bytecode with no
        matching `.py`. The header gives the Python version; bytecode of this interpreter's
        version is loaded with `marshal` (never run) and its imports, risky names (`eval`,
        `system`, `urlopen`...), URLs and secret paths go in the metadata; other versions
        are read for their strings. Bytecode next to its source is low.
    files.bytecode-source-mismatch (high): bytecode next to its `.py` imports modules, or
        names hosts, that the source never mentions: Python may run the bytecode instead of
        the source a reviewer read.
    files.bytecode-unreadable (medium): a `.pyc` whose magic number names no known Python
        release, or whose code does not load; what it does was not read.
    files.compiled-code (medium): Java classes and WebAssembly.
    files.pickle (high; critical importing os, subprocess, builtins eval...): a pickle
        that imports objects when loaded, i.e. runs code. Plain-data pickles are info.
    files.image-appended-data (critical for an executable, high for an archive, bytecode,
        a script or text with a URL or shell command, medium for other data): bytes after
        a PNG's IEND, a JPEG's EOI or a GIF's trailer, which no viewer shows. A few bytes
        of padding or white space are normal and not reported.
    files.pdf-active-content (high for /Launch, or JavaScript with /OpenAction or /AA;
        medium for JavaScript alone, attachments, forms that submit or import data): the
        PDF can run code. Names are read with `#xx` escapes decoded and inside FlateDecode
        streams (object streams). /OpenAction or /AA alone (open at a page) is normal.
    files.pdf-suspicious-link (high): a /URI action to a raw IP address.
    files.office-macro (high): VBA in an OOXML document (`vbaProject.bin`, a macro-enabled
        content type) or in an OLE2 file (`VBA`, `_VBA_PROJECT`, `Macros` storages), or DDE
        field codes.
    files.office-external-target (high when a template, OLE object, frame or sub-document
        is fetched from a URL or share; medium for other external parts): the document
        loads content from elsewhere when opened (remote template injection). External
        hyperlinks are normal.
    files.document-unreadable (medium): a PDF without objects or end marker, an OLE2 file
        whose allocation table or directory is damaged, an Office file that does not open.
    files.archive (medium): a 7z, RAR or zstd archive; these formats are not opened, so
        their content is not analysed. Office documents are checked, not reported.
    files.archive-unreadable (high when encrypted, a bomb (sizes over 100 times the
        file) or holding unsafe names; medium when damaged, over the entry or size limits,
        past the scan's unpacking budget, or nested deeper than `MAX_DEPTH`): ZIP, tar,
        gzip, bzip2 and xz archives are opened in memory with the upload limits, and their
        members scanned by the `signatures`, `unicode` and `files` analyzers, findings
        located as `archive.zip!inner/path`; an archive that cannot be opened is this.
    files.exec-non-script (high, critical for a binary): SKILL.md or a shell script makes
        executable, or runs, a package file named like text, an image, a font or a
        document (`chmod +x assets/x.txt`, `bash notes.txt`). Sourcing `.env` is fine.
    files.symlink (medium; high when it points outside the skill): a link was not
        followed; its target is in the metadata, escaped.
    files.special-file (high): a FIFO, socket or device was not read; no skill needs one.
    files.not-fully-analysed (high; medium for a truncated image, font, audio or video):
        entries skipped for limits (too many files, too large, too deep, unreadable) and
        files cut at the read limit. Padding a script past the limit, or putting a zip
        (which `python3 file` runs from its end) after junk, is an evasion, so content
        the scanner could not read fails the scan rather than passing unseen.
    files.reference-outside (low): a Markdown or HTML link in the skill points outside its
        folder (`../../x`, `/etc/x`, `~/x`, `file:`); it is not followed.
    files.not-scanned (low): version-control folders (of `.git`, only `config` and
        `hooks/` are read), entries beside the skill folder, and names with undecodable
        bytes.
    files.git-command (high): a shipped `.git` holds an active hook or a setting under
        which git runs a program (`core.fsmonitor`, `core.sshCommand`, `core.hooksPath`,
        filter and diff drivers, `!` aliases): a plain `git status` in the folder runs it.

Fonts, clean images and plain PDFs and Office documents are normal and never reported.

Limitations:
    Native binaries are not disassembled; only their printable strings are matched.
    Images are checked for data after their end only, not inside their chunks. PDF
    attachments and OLE2 streams are named, not extracted and scanned; OpenDocument,
    EPUB and other ZIP-based document formats are neither opened nor checked for macros.
    Bytecode of another Python release is read for its strings, not its instructions.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickletools
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import JsonValue

from scanner.analyzers import registry
from scanner.analyzers._bytecode import MAX_EVIDENCE, BytecodeReport, read_pyc
from scanner.analyzers._image import find_trailer
from scanner.analyzers._nested import (
    MAX_DEPTH,
    OPENABLE,
    ArchiveProblem,
    Budget,
    open_members,
    sub_package,
)
from scanner.analyzers._office import OfficeReport, is_remote, read_ole, read_ooxml
from scanner.analyzers._pdf import PdfReport, read_pdf
from scanner.analyzers._rules import RuleSet, ScanTarget, default_ruleset
from scanner.analyzers._text import (
    FileType,
    LineIndex,
    escape_invisible,
    file_type,
    make_snippet,
    normalize_newlines,
)
from scanner.analyzers.base import Analyzer
from scanner.analyzers.registry import register
from scanner.core.models import Category, FileKind, Finding, Severity, SkillFile, SkillPackage

EXECUTABLE_TYPES = frozenset({"elf", "pe", "macho"})
ARCHIVE_TYPES = frozenset({"zip", "gzip", "xz", "7z", "rar", "bzip2", "tar", "zstd"})
MEDIA_TYPES = frozenset(
    {"png", "jpeg", "gif", "webp", "pdf", "bmp", "ico", "woff", "woff2", "ttf", "otf"}
)
MAX_STRINGS_BYTES = 2 * 1024 * 1024
MAX_PICKLE_OPS = 200_000
MAX_TARGET_CHARS = 300

_TEXT_EXT = frozenset(
    {".txt", ".md", ".markdown", ".rst", ".csv", ".tsv", ".json", ".yaml", ".yml", ".toml",
     ".ini", ".cfg", ".conf", ".log", ".xml", ".html", ".htm", ".css", ".license", ".lock",
     ".env", ".example", ".sample", ".template", ".tmpl", ".j2", ".jinja", ".text", ".me"}
)  # fmt: skip
_IMAGE_EXT = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".tif", ".tiff", ".avif", ".heic"}
)
_FONT_EXT = frozenset({".ttf", ".otf", ".woff", ".woff2", ".eot"})
_DOC_EXT = frozenset({".pdf", ".doc", ".xls", ".ppt", ".rtf"})
_OFFICE_EXT = frozenset(
    {".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".dotx", ".dotm", ".xltx", ".xltm",
     ".potx", ".potm", ".ppsx", ".ppsm", ".xlam", ".ppam", ".xlsb"}
)  # fmt: skip
_ZIP_CONTAINERS = frozenset(
    {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".key", ".numbers", ".pages",
     ".sketch", ".fig", ".xd"}
)  # fmt: skip
_CODE_CONTAINERS = frozenset({".jar", ".whl", ".apk", ".vsix", ".xpi", ".crx", ".egg", ".war"})
_EXEC_EXT = frozenset(
    {".exe", ".dll", ".so", ".dylib", ".bin", ".elf", ".out", ".app", ".sys", ".o", ".node",
     ".scr", ".com", ".run", ".x86_64", ".arm64"}
)  # fmt: skip
_SCRIPT_EXT = frozenset(
    {".sh", ".bash", ".zsh", ".ksh", ".fish", ".py", ".pyw", ".js", ".mjs", ".cjs", ".ts",
     ".rb", ".pl", ".php", ".ps1", ".bat", ".cmd", ".command", ".lua", ".tcl", ".awk"}
)  # fmt: skip
_DISGUISE_EXT = _TEXT_EXT | _IMAGE_EXT | _FONT_EXT | _DOC_EXT
_DANGEROUS_GLOBALS = re.compile(
    r"^(?:os|posix|nt|subprocess|socket|sys|shutil|importlib|runpy|pty|commands|webbrowser|"
    r"requests|urllib\S*|ctypes|marshal|pickle|code|codeop|types)\b"
    r"|^(?:builtins|__builtin__)\s+(?:eval|exec|compile|getattr|__import__|open|globals|vars)$"
)
_B64_FILE = re.compile(r"^[A-Za-z0-9+/=\s]{64,}$|^(?:[0-9A-Fa-f]{2}\s*){32,}$")
_STRINGS = re.compile(rb"[\x20-\x7e]{6,}")
_CHMOD = re.compile(
    r"\bchmod\s+(?:-\w+\s+)*(?:[ugoa]*\+[rw]*x[rwx]*|0?[0-7]?[1357][0-7]{0,2})\s+(?P<p>\S+)"
)
_RUN = re.compile(
    r"(?:^|[\s;&|(`])(?:(?:ba|z|da|k)?sh|source|exec|nohup)\s+(?:-\S+\s+)*(?P<p>[\w./${}~\"'-]+)"
    r"|(?:^|[\s;&|(`])(?P<q>\.{1,2}/[\w./-]+)",
    re.MULTILINE,
)
_MAGIC = (
    (b"\x7fELF", "elf"),
    (b"MZ", "pe"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\xfd7zXZ\x00", "xz"),
)
_PATH_PREFIX = re.compile(r"^(?:\$\{?\w+\}?/|\{\w+\}/|\./)+")
_PICKLE_EXT = frozenset({".pkl", ".pickle", ".joblib", ".dill"})
_TRAILER_IMAGES = frozenset({"png", "jpeg", "gif"})
_NESTED_ANALYZERS = ("signatures", "unicode")
_HOSTILE_ARCHIVE = frozenset({"encrypted", "unsafe", "bomb"})
_PDF_ACTIVE = frozenset(
    {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "SubmitForm", "ImportData",
     "RichMedia", "GoToE"}
)  # fmt: skip
_GIT_FILE = re.compile(r"(?:^|/)\.git/(?:config|hooks/(?P<hook>[^/]+))$")
# Settings under which git runs a program: `[core] fsmonitor = ...`, filters, diff
# drivers, `!` aliases and credential helpers, the SSH command, the hooks folder.
_GIT_COMMAND_KEY = re.compile(
    r"^[ \t]*(?P<key>fsmonitor)[ \t]*=[ \t]*(?!(?:true|false|yes|no|on|off|[01])\s*$)\S"
    r"|^[ \t]*(?P<key2>sshcommand|hookspath|pager|editor|gitproxy|askpass|textconv|clean|"
    r"smudge|process|command|driver|packobjectshook)[ \t]*=[ \t]*\S"
    r"|^[ \t]*(?P<key3>[\w.-]+)[ \t]*=[ \t]*\"?!",
    re.IGNORECASE | re.MULTILINE,
)
_MEDIA_TYPES = frozenset({"png", "jpeg", "gif", "webp"})
_MEDIA_MAGIC = (
    b"\x00\x01\x00\x00", b"OTTO", b"wOFF", b"wOF2", b"ttcf", b"RIFF", b"ID3", b"fLaC",
    b"OggS", b"\x1aE\xdf\xa3", b"\xff\xfb", b"\xff\xf3", b"BM", b"II*\x00", b"MM\x00*",
)  # fmt: skip
_SKIPPED_COVERAGE = frozenset({"too_many_files", "too_large", "too_deep", "unreadable"})
_SKIPPED_LOW = frozenset({"vcs_metadata", "outside_skill_folder"})


def _finding(
    rule_id: str,
    category: Category,
    severity: Severity,
    title: str,
    description: str,
    path: str | None,
    *,
    remediation: str,
    line: int | None = None,
    snippet: str | None = None,
    metadata: dict[str, JsonValue] | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        category=category,
        severity=severity,
        title=title,
        description=description,
        file_path=path,
        line_number=line,
        snippet=snippet,
        remediation=remediation,
        analyzer=FilesAnalyzer.name,
        metadata=metadata or {},
    )


@dataclass
class _Context:
    """Where a package sits: the skill itself (depth 0) or an archive inside it."""

    depth: int = 0
    budget: Budget = field(default_factory=Budget)

    def inner(self) -> _Context:
        return _Context(self.depth + 1, self.budget)


@register
class FilesAnalyzer(Analyzer):
    """Compare content with names, open archives and documents, report every entry not analysed."""

    name = "files"
    description = (
        "File content versus name, binaries, bytecode, pickles, images, PDF, Office, archives."
    )

    RULES = (
        "files.executable",
        "files.disguised-executable",
        "files.disguised-archive",
        "files.disguised-script",
        "files.disguised-binary",
        "files.encoded-binary",
        "files.compiled-without-source",
        "files.bytecode-source-mismatch",
        "files.bytecode-unreadable",
        "files.compiled-code",
        "files.pickle",
        "files.image-appended-data",
        "files.pdf-active-content",
        "files.pdf-suspicious-link",
        "files.office-macro",
        "files.office-external-target",
        "files.document-unreadable",
        "files.archive",
        "files.archive-unreadable",
        "files.exec-non-script",
        "files.symlink",
        "files.special-file",
        "files.not-fully-analysed",
        "files.not-scanned",
        "files.reference-outside",
        "files.git-command",
    )

    def __init__(self) -> None:
        self._rules: RuleSet = default_ruleset()

    def analyze(self, package: SkillPackage) -> list[Finding]:
        """Return the file findings of a package, archives inside it opened and scanned."""
        return self._analyze(package, _Context())

    def _analyze(self, package: SkillPackage, context: _Context) -> list[Finding]:
        files = {item.path: item for item in package.files}
        findings: list[Finding] = []
        for item in package.files:
            findings += self._content_findings(item, files, context)
            findings += _coverage_findings(item)
            findings += _git_findings(item)
        findings += list(_skipped_findings(package))
        findings += list(_exec_reference_findings(package))
        findings += [f for item in package.files for f in _outside_reference_findings(item)]
        return findings

    def _content_findings(
        self, item: SkillFile, files: dict[str, SkillFile], context: _Context
    ) -> list[Finding]:
        kind = sniff(item)
        if kind in EXECUTABLE_TYPES:
            return [self._executable(item, kind)]
        if kind == "pyc" or item.suffix in (".pyc", ".pyo"):
            return [*self._bytecode(item, files), *_disguised_code(item, "pyc")]
        if kind == "pickle" or item.suffix in _PICKLE_EXT:
            return [*_pickle_findings(item), *_disguised_code(item, "pickle")]
        if kind in ("java_class", "wasm"):
            return [_compiled_code(item, kind), *_disguised_code(item, kind)]
        if item.kind is FileKind.TEXT:
            return list(_text_disguise_findings(item))
        return self._document_findings(item, kind, context)

    def _document_findings(self, item: SkillFile, kind: str, context: _Context) -> list[Finding]:
        if kind == "zip" and item.suffix in _OFFICE_EXT:
            return _office_zip_findings(item, context.budget)
        if kind == "ole2":
            return _ole_findings(item)
        if kind in ARCHIVE_TYPES:
            return self._archive(item, kind, context)
        if kind == "pdf":
            return _pdf_findings(item)
        if kind in _TRAILER_IMAGES and not item.truncated:
            return _image_findings(item, kind)
        return []

    def _archive(self, item: SkillFile, kind: str, context: _Context) -> list[Finding]:
        if item.suffix in _ZIP_CONTAINERS and kind == "zip":
            return []
        findings = list(_archive_findings(item, kind))
        if kind not in OPENABLE or item.truncated:
            return findings
        if context.depth >= MAX_DEPTH:
            problem = ArchiveProblem("too_deep", f"archives nested over {MAX_DEPTH} deep")
            return [*findings, _archive_problem(item, kind, problem)]
        opened = open_members(item.data or b"", kind, context.budget)
        if isinstance(opened, ArchiveProblem):
            return [*findings, _archive_problem(item, kind, opened)]
        package = sub_package(item, kind, opened)
        inner = [f for name in _NESTED_ANALYZERS for f in registry.instance(name).analyze(package)]
        inner += self._analyze(package, context.inner())
        return findings + [_relocated(finding, item.path) for finding in inner]

    def _executable(self, item: SkillFile, kind: str) -> Finding:
        disguised = item.suffix in _DISGUISE_EXT | _OFFICE_EXT
        strings = self._strings_verdict(item)
        if disguised:
            return _finding(
                "files.disguised-executable",
                Category.DISGUISED_BINARY,
                Severity.CRITICAL,
                "Executable disguised as another file type",
                f"`{item.path}` is {_article(kind.upper())} executable named like a "
                f"`{item.suffix}` file.",
                item.path,
                remediation="Remove the binary; ship source the user can review.",
                metadata={"detected_type": kind, "strings_rules": _json_list(strings[1])},
            )
        return _finding(
            "files.executable",
            Category.COMPILED_WITHOUT_SOURCE,
            max(Severity.HIGH, strings[0], key=_rank),
            "Executable binary in the skill",
            f"`{item.path}` is {_article(kind.upper())} executable; it cannot be reviewed.",
            item.path,
            remediation="Ship source, or install the tool from its official package.",
            metadata={"detected_type": kind, "strings_rules": _json_list(strings[1])},
        )

    def _bytecode(self, item: SkillFile, files: dict[str, SkillFile]) -> list[Finding]:
        report = read_pyc(item.data or (item.text or "").encode("utf-8", "surrogateescape"))
        evidence = _bytecode_evidence(report)
        extra = [_bytecode_unreadable(item, report)] if report.error else []
        sources = [files[path] for path in sorted(_source_of(item.path)) if path in files]
        if sources:
            return [_paired_bytecode(item, evidence), *_mismatch(item, report, sources), *extra]
        severity, rules = self._strings_verdict(item)
        if _bytecode_is_critical(report):
            severity = Severity.CRITICAL
        evidence["strings_rules"] = _json_list(rules)
        return [_sourceless_bytecode(item, severity, rules, evidence), *extra]

    def _strings_verdict(self, item: SkillFile) -> tuple[Severity, list[str]]:
        """Judge the printable strings of a binary with the signature rules and facts."""
        data = (item.data or b"")[:MAX_STRINGS_BYTES]
        text = "\n".join(m.group().decode("ascii") for m in _STRINGS.finditer(data))
        hits = self._rules.scan(ScanTarget(text, FileType.TEXT))
        rules = sorted({hit.rule.id for hit in hits if hit.severity.rank >= Severity.MEDIUM.rank})
        worst = max((hit.severity for hit in hits), key=_rank, default=Severity.INFO)
        facts = self._rules.facts_in(text)
        if {"secret_source", "untrusted_dest"} <= facts or worst.rank >= Severity.HIGH.rank:
            return Severity.CRITICAL, rules + sorted(facts)
        return Severity.INFO, rules


def _rank(severity: Severity) -> int:
    return severity.rank


def _json_list(items: list[str]) -> list[JsonValue]:
    return list(items)


def sniff(item: SkillFile) -> str:
    """Return the content type of a file from its magic bytes (loader's guess as fallback)."""
    data = item.data or b""
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return item.detected_type


def _source_of(path: str) -> set[str]:
    folder, name = posixpath.split(path)
    stem = name.split(".", 1)[0]
    candidates = {posixpath.join(folder, stem + ".py")}
    if posixpath.basename(folder) == "__pycache__":
        candidates.add(posixpath.join(posixpath.dirname(folder), stem + ".py"))
    return candidates


def _compiled_code(item: SkillFile, kind: str) -> Finding:
    return _finding(
        "files.compiled-code",
        Category.COMPILED_WITHOUT_SOURCE,
        Severity.MEDIUM,
        "Compiled code without source",
        f"`{item.path}` is {kind.replace('_', ' ')} bytecode that cannot be reviewed here.",
        item.path,
        remediation="Ship the source.",
    )


def _bytecode_evidence(report: BytecodeReport) -> dict[str, JsonValue]:
    return {
        "python_version": report.version,
        "magic": report.magic,
        "method": report.method,
        "imports": _json_list(report.imports[:MAX_EVIDENCE]),
        "risky_names": _json_list(report.risky_names),
        "urls": _json_list(report.urls),
        "secret_paths": _json_list(report.secret_paths),
        "unchecked_hash": report.hash_based and not report.check_source,
    }


def _bytecode_is_critical(report: BytecodeReport) -> bool:
    """Return True when the bytecode pairs a secret or a runner with a way out."""
    reaches_out = bool(report.network or report.urls)
    return reaches_out and bool(report.secret_paths or report.execution)


def _sourceless_bytecode(
    item: SkillFile, severity: Severity, rules: list[str], evidence: dict[str, JsonValue]
) -> Finding:
    named = [*_as_strs(evidence["imports"])[:5], *_as_strs(evidence["urls"])[:3]]
    named += _as_strs(evidence["secret_paths"])[:3]
    return _finding(
        "files.compiled-without-source",
        Category.COMPILED_WITHOUT_SOURCE,
        max(Severity.HIGH, severity, key=_rank),
        "Python bytecode without source",
        f"`{item.path}` is compiled Python with no `.py` next to it: what it does "
        "cannot be reviewed."
        + (f" Its code names: {', '.join(named)}." if named else "")
        + (f" Its strings match: {', '.join(rules)}." if rules else ""),
        item.path,
        remediation="Ship the Python source instead of bytecode.",
        metadata=evidence,
    )


def _paired_bytecode(item: SkillFile, evidence: dict[str, JsonValue]) -> Finding:
    return _finding(
        "files.compiled-without-source",
        Category.COMPILED_WITHOUT_SOURCE,
        Severity.LOW,
        "Python bytecode shipped next to its source",
        f"`{item.path}` may not match its source; it is not needed in a skill.",
        item.path,
        remediation="Remove `__pycache__` and `.pyc` files from the skill.",
        metadata=evidence,
    )


def _mismatch(item: SkillFile, report: BytecodeReport, sources: list[SkillFile]) -> list[Finding]:
    """Report bytecode that imports modules, or names hosts, its source never mentions."""
    text = "\n".join(source.text or "" for source in sources)
    words = set(re.findall(r"\w+", text))
    missing = [
        name
        for name in report.imports
        if not name.startswith("<") and not set(name.split(".")) <= words
    ]
    hosts = {urlsplit(url).hostname or url for url in report.urls}
    missing += sorted(host for host in hosts if host not in text)
    if not missing:
        return []
    return [
        _finding(
            "files.bytecode-source-mismatch",
            Category.COMPILED_WITHOUT_SOURCE,
            Severity.HIGH,
            "Python bytecode does not match the source next to it",
            f"`{item.path}` imports or names {', '.join(missing[:5])}, which its source "
            "never mentions: Python may run this bytecode instead of the reviewed source.",
            item.path,
            remediation="Delete the bytecode; ship only the source.",
            metadata={"missing_from_source": _json_list(missing[:MAX_EVIDENCE])},
        )
    ]


def _bytecode_unreadable(item: SkillFile, report: BytecodeReport) -> Finding:
    return _finding(
        "files.bytecode-unreadable",
        Category.ANALYSIS_COVERAGE,
        Severity.MEDIUM,
        "Python bytecode could not be analysed",
        f"`{item.path}`: {report.error}; what its code does was not read.",
        item.path,
        remediation="Ship the Python source instead of bytecode.",
        metadata={"error": report.error, "magic": report.magic},
    )


def _as_strs(value: JsonValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _disguised_code(item: SkillFile, kind: str) -> list[Finding]:
    """Report bytecode or a pickle whose name says text, image, font or document."""
    if item.suffix not in _DISGUISE_EXT | _OFFICE_EXT:
        return []
    return [
        _finding(
            "files.disguised-binary",
            Category.DISGUISED_BINARY,
            Severity.HIGH,
            "Code or serialized objects disguised as another file type",
            f"`{item.path}` is {kind.replace('_', ' ')} content named like a `{item.suffix}` file.",
            item.path,
            remediation="Name files after what they contain; ship source, not bytecode.",
            metadata={"detected_type": kind},
        )
    ]


def _archive_problem(item: SkillFile, kind: str, problem: ArchiveProblem) -> Finding:
    severity = Severity.HIGH if problem.reason in _HOSTILE_ARCHIVE else Severity.MEDIUM
    return _finding(
        "files.archive-unreadable",
        Category.ANALYSIS_COVERAGE,
        severity,
        "Archive could not be opened and scanned",
        f"`{item.path}` is {_article(kind)} archive that was not scanned ({problem.reason}): "
        f"{escape_invisible(problem.message[:MAX_TARGET_CHARS])}.",
        item.path,
        remediation="Ship the files unpacked so they can be reviewed.",
        metadata={"detected_type": kind, "reason": problem.reason},
    )


def _relocated(finding: Finding, archive: str) -> Finding:
    inner = finding.file_path
    path = f"{archive}!{inner}" if inner else archive
    metadata = {**finding.metadata, "archive": archive}
    return finding.model_copy(update={"file_path": path, "metadata": metadata})


def _image_findings(item: SkillFile, kind: str) -> list[Finding]:
    trailer = find_trailer(item.data or b"", kind)
    if trailer is None:
        return []
    if trailer.kind in EXECUTABLE_TYPES:
        severity = Severity.CRITICAL
    elif trailer.kind in ("text", "data"):
        severity = Severity.MEDIUM
    else:
        severity = Severity.HIGH
    return [
        _finding(
            "files.image-appended-data",
            Category.DISGUISED_BINARY,
            severity,
            "Data hidden after the end of an image",
            f"`{item.path}` carries {trailer.size} bytes ({trailer.kind}) after the end of "
            f"its {kind.upper()} image, where no viewer shows them.",
            item.path,
            remediation="Re-export the image; ship hidden content, if any, as reviewable files.",
            metadata={"offset": trailer.offset, "size": trailer.size, "appended": trailer.kind},
        )
    ]


def _pdf_findings(item: SkillFile) -> list[Finding]:
    report = read_pdf(item.data or b"", truncated=item.truncated)
    findings: list[Finding] = []
    active = sorted(name for name in report.names if name in _PDF_ACTIVE)
    if "Launch" in report.names or report.runs_script_on_open or active:
        findings.append(_pdf_active(item, report, active))
    if report.ip_uris:
        findings.append(
            _finding(
                "files.pdf-suspicious-link",
                Category.DATA_EXFILTRATION,
                Severity.HIGH,
                "PDF links to a raw IP address",
                f"`{item.path}` links to {escape_invisible(report.ip_uris[0][:200])}: a "
                "bare IP address, not a named site.",
                item.path,
                remediation="Link to named hosts, or remove the link.",
                metadata={"uris": _json_list([u[:200] for u in report.ip_uris[:MAX_EVIDENCE]])},
            )
        )
    if report.malformed:
        findings.append(_document_unreadable(item, "PDF", report.malformed))
    return findings


def _pdf_active(item: SkillFile, report: PdfReport, active: list[str]) -> Finding:
    high = "Launch" in report.names or report.runs_script_on_open
    how = "runs a program or a script when opened" if high else "holds active content"
    names = sorted(report.names)
    return _finding(
        "files.pdf-active-content",
        Category.CODE_INJECTION,
        Severity.HIGH if high else Severity.MEDIUM,
        "PDF with active content",
        f"`{item.path}` {how} ({', '.join('/' + n for n in names)}).",
        item.path,
        remediation="Ship a plain PDF: print or export it without scripts and attachments.",
        metadata={"names": _json_list(names), "active": _json_list(active)},
    )


def _document_unreadable(item: SkillFile, kind: str, why: str) -> Finding:
    return _finding(
        "files.document-unreadable",
        Category.ANALYSIS_COVERAGE,
        Severity.MEDIUM,
        f"{kind} document could not be fully analysed",
        f"`{item.path}` is a damaged or odd {kind} file ({escape_invisible(why[:200])}); "
        "what it holds was not fully read.",
        item.path,
        remediation="Re-export the document from its editor.",
        metadata={"error": why[:MAX_TARGET_CHARS]},
    )


def _office_zip_findings(item: SkillFile, budget: Budget) -> list[Finding]:
    opened = open_members(item.data or b"", "zip", budget) if not item.truncated else []
    if isinstance(opened, ArchiveProblem):
        return [_document_unreadable(item, "Office", opened.message)]
    return _office_report_findings(item, read_ooxml(opened))


def _ole_findings(item: SkillFile) -> list[Finding]:
    report = read_ole(item.data or b"")
    if report.malformed and not item.truncated:
        return [_document_unreadable(item, "OLE2", report.malformed)]
    return _office_report_findings(item, report)


def _office_report_findings(item: SkillFile, report: OfficeReport) -> list[Finding]:
    findings: list[Finding] = []
    if report.macros or report.dde:
        what = ", ".join(report.macros[:5]) or "DDE field codes"
        findings.append(
            _finding(
                "files.office-macro",
                Category.CODE_INJECTION,
                Severity.HIGH,
                "Office document with macros",
                f"`{item.path}` carries code that runs inside Office ({escape_invisible(what)}).",
                item.path,
                remediation="Ship a document without macros (.docx, .xlsx, .pptx) or a PDF.",
                metadata={"macros": _json_list(report.macros[:MAX_EVIDENCE]), "dde": report.dde},
            )
        )
    if report.remote_targets:
        findings.append(_office_remote(item, report.remote_targets))
    return findings


def _office_remote(item: SkillFile, targets: list[dict[str, str]]) -> Finding:
    remote = [target for target in targets if is_remote(target)]
    shown = (remote or targets)[0]
    return _finding(
        "files.office-external-target",
        Category.REMOTE_CODE_EXECUTION,
        Severity.HIGH if remote else Severity.MEDIUM,
        "Office document loads content from elsewhere",
        f"`{item.path}` has an external {shown['type']} relationship to "
        f"`{escape_invisible(shown['target'][:200])}`, fetched when the document opens.",
        item.path,
        remediation="Embed what the document needs, or remove the external relationship.",
        metadata={"targets": [dict(t) for t in targets[:MAX_EVIDENCE]]},
    )


def _archive_findings(item: SkillFile, kind: str) -> Iterator[Finding]:
    """Report an archive named like something else, and one that cannot be opened here."""
    if item.suffix in _DISGUISE_EXT:
        yield _finding(
            "files.disguised-archive",
            Category.DISGUISED_BINARY,
            Severity.HIGH,
            "Archive disguised as another file type",
            f"`{item.path}` is {_article(kind)} archive named like a `{item.suffix}` file.",
            item.path,
            remediation="Ship plain files; do not hide archives.",
            metadata={"detected_type": kind},
        )
    if kind not in OPENABLE:
        yield _finding(
            "files.archive",
            Category.ANALYSIS_COVERAGE,
            Severity.MEDIUM,
            "Archive not analysed",
            f"`{item.path}` is {_article(kind)} archive; this format is not opened or scanned.",
            item.path,
            remediation="Ship the files unpacked so they can be reviewed.",
            metadata={"detected_type": kind},
        )


def _text_disguise_findings(item: SkillFile) -> Iterator[Finding]:
    text = item.text or ""
    if item.suffix in (_IMAGE_EXT | _FONT_EXT | _DOC_EXT) and text.strip():
        yield _finding(
            "files.disguised-script",
            Category.DISGUISED_BINARY,
            Severity.HIGH,
            "Text disguised as a binary file type",
            f"`{item.path}` is named like a `{item.suffix}` file but holds text.",
            item.path,
            remediation="Name files after what they contain.",
        )
    elif item.suffix in _TEXT_EXT and text.lstrip("\ufeff").startswith("#!"):
        yield _finding(
            "files.disguised-script",
            Category.DISGUISED_BINARY,
            Severity.HIGH,
            "Script disguised as a text file",
            f"`{item.path}` starts with a shebang but is named like a `{item.suffix}` file.",
            item.path,
            remediation="Give scripts a script extension and keep them in scripts/.",
        )
    yield from _encoded_binary(item, text)


def _encoded_binary(item: SkillFile, text: str) -> Iterator[Finding]:
    stripped = "".join(text.split())
    if len(stripped) < 64 or not _B64_FILE.match(text.strip()):
        return
    raw = _decode_bytes(stripped)
    if raw is None:
        return
    kind = _magic(raw)
    if kind is None:
        return
    severity = Severity.CRITICAL if kind in EXECUTABLE_TYPES | {"pyc"} else Severity.HIGH
    yield _finding(
        "files.encoded-binary",
        Category.DISGUISED_BINARY,
        severity,
        "Encoded executable or archive in a text file",
        f"`{item.path}` is text that decodes to a {kind} file.",
        item.path,
        remediation="Do not ship encoded binaries.",
        metadata={"decoded_type": kind},
    )


def _decode_bytes(value: str) -> bytes | None:
    try:
        if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value):
            return bytes.fromhex(value)
        return base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _magic(raw: bytes) -> str | None:
    """Return the type of decoded bytes when it is code or an archive."""
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            return kind
    if len(raw) >= 16 and raw[2:4] == b"\r\n" and 3000 <= int.from_bytes(raw[:2], "little") < 4000:
        return "pyc"
    return None


def _pickle_findings(item: SkillFile) -> Iterator[Finding]:
    imports = _pickle_imports(item.data or b"")
    if imports is None:
        return
    dangerous = [name for name in imports if _DANGEROUS_GLOBALS.search(name)]
    if not imports:
        severity, detail = Severity.INFO, "it holds plain data only"
    elif dangerous:
        severity, detail = Severity.CRITICAL, f"loading it calls {', '.join(dangerous[:5])}"
    else:
        severity, detail = Severity.HIGH, f"loading it imports {', '.join(imports[:5])}"
    yield _finding(
        "files.pickle",
        Category.CODE_INJECTION,
        severity,
        "Pickle file",
        f"`{item.path}` is a Python pickle; {detail}. Unpickling runs whatever it imports.",
        item.path,
        remediation="Use JSON, CSV or safetensors for data.",
        metadata={"imports": _json_list(imports[:20])},
    )


def _pickle_imports(data: bytes) -> list[str] | None:
    """Return the globals a pickle imports, without loading it (None when unreadable)."""
    found: list[str] = []
    strings: list[str] = []
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(io.BytesIO(data))):
            if count > MAX_PICKLE_OPS:
                break
            if isinstance(arg, str):
                strings = [*strings[-1:], arg]
            if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                found.append(arg.replace("\n", " "))
            elif op.name == "STACK_GLOBAL" and len(strings) == 2:
                found.append(" ".join(strings))
            elif op.name in ("REDUCE", "OBJ", "NEWOBJ", "NEWOBJ_EX") and not found:
                found.append("<callable>")
    except (ValueError, EOFError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        return found or None
    return found


def _git_findings(item: SkillFile) -> Iterator[Finding]:
    """Report an active hook, or a config key that runs a command, in a shipped `.git`."""
    found = _GIT_FILE.search(item.path)
    if found is None:
        return
    if found.group("hook"):
        what = f"an active git hook, `{found.group('hook')}`"
        line = 1
    else:
        key = _GIT_COMMAND_KEY.search(item.text or "")
        if key is None:
            return
        name = key.group("key") or key.group("key2") or key.group("key3")
        what = f"a git setting that runs a command (`{name}`)"
        line = (item.text or "")[: key.start()].count("\n") + 1
    yield _finding(
        "files.git-command",
        Category.PERSISTENCE,
        Severity.HIGH,
        "Git metadata that runs commands",
        f"The skill ships {what}: git runs it on an ordinary `git status`, `commit` or "
        "`pull` in the skill's folder, with nothing shown to the user.",
        item.path,
        line=line,
        remediation="Ship the skill without its `.git` folder, or without hooks and commands.",
    )


def _is_inert_media(item: SkillFile) -> bool:
    """Return True for an image, font, audio or video file, judged by its first bytes."""
    head = (item.data or b"")[:16]
    if item.detected_type in _MEDIA_TYPES:
        return True
    return head.startswith(_MEDIA_MAGIC) or head[4:8] == b"ftyp"


def _coverage_findings(item: SkillFile) -> Iterator[Finding]:
    if item.truncated:
        # SECURITY: past the read limit anything can follow (a zip that Python runs
        # from its end, a script after padding). Only formats that cannot be run are
        # medium: images, fonts, audio and video.
        yield _finding(
            "files.not-fully-analysed",
            Category.ANALYSIS_COVERAGE,
            Severity.MEDIUM if _is_inert_media(item) else Severity.HIGH,
            "File only partly analysed",
            f"`{item.path}` is larger than the read limit; only its beginning was scanned.",
            item.path,
            remediation="Keep skill files small, or raise the limit for this scan.",
            metadata={"size": item.size},
        )
    if item.name_escaped:
        yield _finding(
            "files.not-scanned",
            Category.ANALYSIS_COVERAGE,
            Severity.LOW,
            "File name with undecodable bytes",
            "The name holds bytes that are not valid UTF-8; it is shown escaped.",
            item.path,
            remediation="Use plain UTF-8 file names.",
        )


def _skipped_findings(package: SkillPackage) -> Iterator[Finding]:
    for entry in package.skipped:
        detail = escape_invisible(entry.detail[:MAX_TARGET_CHARS])
        metadata: dict[str, JsonValue] = {"reason": entry.reason, "detail": detail}
        if entry.reason == "symlink":
            yield _symlink_finding(entry.path, entry.detail, detail, metadata)
        elif entry.reason == "special_file":
            yield _finding(
                "files.special-file",
                Category.PACKAGE_INTEGRITY,
                Severity.HIGH,
                "Special file not read",
                f"`{entry.path}` is a {detail or 'special file'}.",
                entry.path,
                remediation="Skills hold regular files only.",
                metadata=metadata,
            )
        else:
            yield _skip_finding(entry.path, entry.reason, detail, metadata)


def _symlink_finding(path: str, target: str, shown: str, metadata: dict[str, JsonValue]) -> Finding:
    outside = _leaves_root(path, target)
    metadata["target"] = shown
    where = " pointing outside the skill" if outside else ""
    return _finding(
        "files.symlink",
        Category.PACKAGE_INTEGRITY,
        Severity.HIGH if outside else Severity.MEDIUM,
        "Symbolic link not followed",
        f"`{path}` is a link{where}; links are never followed, so its target was not scanned.",
        path,
        remediation="Replace links with the files themselves.",
        metadata=metadata,
    )


def _skip_finding(path: str, reason: str, detail: str, metadata: dict[str, JsonValue]) -> Finding:
    low = reason in _SKIPPED_LOW
    return _finding(
        "files.not-scanned" if low else "files.not-fully-analysed",
        Category.ANALYSIS_COVERAGE,
        Severity.LOW if low else Severity.HIGH,
        "Entry not scanned" if low else "Skill not fully analysed",
        f"`{path}` was skipped ({reason}){': ' + detail if detail else ''}.",
        path,
        remediation="Remove it from the skill." if low else "Reduce the skill's size or depth.",
        metadata=metadata,
    )


# Markdown links and images, and HTML src/href attributes, with their target.
_REFERENCE = re.compile(
    r"!?\[[^\]\n]{0,200}\]\(\s*<?(?P<md>[^)\s>]{1,400})|"
    r"\b(?:src|href)\s*=\s*[\"'](?P<html>[^\"'\s]{1,400})[\"']",
    re.IGNORECASE,
)
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:(?!//?(?:[a-z]:)?/)|//|#|\{\{)", re.IGNORECASE)
MAX_REFERENCE_FINDINGS = 20


def _reference_target(raw: str) -> str | None:
    """Return a local target out of the skill folder, or None for URLs and inside paths."""
    target = raw.split("#", 1)[0].split("?", 1)[0]
    if target.lower().startswith("file:"):
        return target
    if not target or _REMOTE.match(target):
        return None
    if target.startswith(("~", "$HOME", "%USERPROFILE%")):
        return target
    return target if target.startswith("/") else None


def _outside_reference_findings(item: SkillFile) -> Iterator[Finding]:
    if item.text is None or item.suffix not in (".md", ".markdown", ".html", ".htm", ".mdx"):
        return
    count = 0
    for match in _REFERENCE.finditer(item.text):
        raw = match.group("md") or match.group("html") or ""
        target = _reference_target(raw)
        if target is None and not _leaves_root(item.path, raw.split("#", 1)[0] or "."):
            continue
        count += 1
        if count > MAX_REFERENCE_FINDINGS:
            return
        line = item.text.count("\n", 0, match.start()) + 1
        yield _finding(
            "files.reference-outside",
            Category.PACKAGE_INTEGRITY,
            Severity.LOW,
            "Reference to a file outside the skill",
            f"`{item.path}` links to `{escape_invisible(raw[:200])}`, outside the skill "
            "folder; references are never followed, so that file was not scanned.",
            item.path,
            line=line,
            remediation="Ship what the skill needs inside its folder, or link to a URL.",
            metadata={"target": escape_invisible(raw[:200])},
        )


def _leaves_root(path: str, target: str) -> bool:
    if not target or target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return joined == ".." or joined.startswith("../")


def _exec_reference_findings(package: SkillPackage) -> Iterator[Finding]:
    files = {item.path: item for item in package.files}
    for item in package.files:
        kind = file_type(item)
        if kind not in (FileType.MARKDOWN, FileType.SHELL) or not item.text:
            continue
        index = LineIndex(normalize_newlines(item.text))
        for offset, target in _executed_files(item, files):
            line = index.line_of(offset)
            binary = sniff(target) in EXECUTABLE_TYPES
            yield _finding(
                "files.exec-non-script",
                Category.DISGUISED_BINARY,
                Severity.CRITICAL if binary else Severity.HIGH,
                "A non-script file is made executable or run",
                f"`{item.path}` makes `{target.path}` executable or runs it, but its name says "
                f"it is a `{target.suffix}` file" + (" and it is a binary" if binary else "") + ".",
                item.path,
                line=line,
                snippet=make_snippet(index.line_text(line)),
                remediation="Run only reviewed scripts with script extensions.",
                metadata={"target": target.path},
            )


def _executed_files(
    item: SkillFile, files: dict[str, SkillFile]
) -> Iterator[tuple[int, SkillFile]]:
    """Yield files named like data that `item` makes executable or runs."""
    text = item.text or ""
    chmodded: set[str] = set()
    for match in _CHMOD.finditer(text):
        target = _resolve(match.group("p"), item.path, files)
        if target is not None and _is_disguised_name(target):
            chmodded.add(target.path)
            yield match.start(), target
    for match in _RUN.finditer(text):
        direct = match.group("q")
        target = _resolve(direct or match.group("p") or "", item.path, files)
        if target is None or not _is_disguised_name(target) or target.path in chmodded:
            continue
        if direct and sniff(target) not in EXECUTABLE_TYPES:
            continue
        yield match.start(), target


def _resolve(ref: str, source: str, files: dict[str, SkillFile]) -> SkillFile | None:
    clean = _PATH_PREFIX.sub("", ref.strip("\"'`;),"))
    if not clean:
        return None
    candidates = (clean, posixpath.normpath(posixpath.join(posixpath.dirname(source), clean)))
    for candidate in candidates:
        if candidate in files:
            return files[candidate]
    return None


def _is_disguised_name(item: SkillFile) -> bool:
    name = posixpath.basename(item.path).lower()
    if name.startswith(".env") or item.suffix in _SCRIPT_EXT:
        return False
    return item.suffix in _DISGUISE_EXT


def _article(word: str) -> str:
    """Return `word` after "a" or "an" as it is read aloud ("an ELF", "a PE", "an xz")."""
    spoken_vowel = word[:1].lower() in "aeio" or word.upper() in ("ELF", "MSI", "RPM", "XZ")
    return f"an {word}" if spoken_vowel else f"a {word}"
