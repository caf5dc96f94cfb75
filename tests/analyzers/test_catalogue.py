"""The check catalogue: every check written in code has a documented hit and near miss.

Each entry of `scanner/rules/checks/<analyzer>.yaml` is written to a folder, read by
the real loader and given to the real analyzer: the hit must be reported (at the
documented severity and category), the near miss must not. A second set of tests
keeps the catalogue and the code in step, so a new check without an entry fails here
with the YAML to add.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import pkgutil
from pathlib import Path

import pytest

import scanner.analyzers
from scanner.analyzers import registry
from scanner.analyzers._catalogue import (
    DEFAULT_SKILL_MD,
    CatalogueError,
    CheckEntry,
    Example,
    load_catalogue,
    parse_catalogue,
    write_example,
)
from scanner.analyzers._pyast import CodeCheck
from scanner.analyzers._rules import default_ruleset, load_packs
from scanner.core.models import Category, Finding, Severity
from scanner.intake.loader import load_package
from scanner.settings import Settings
from tests.conftest import REPO

CATALOGUE = load_catalogue()
ENTRIES = [
    pytest.param(name, entry, id=entry.id)
    for name, catalogue in CATALOGUE.items()
    for entry in catalogue.checks
]
YAML_RULE_IDS = frozenset(rule.id for rule in default_ruleset().rules)
CHECKS_DIR = "scanner/rules/checks"
HIGH_RANK = Severity.HIGH.rank


def run_example(root: Path, analyzer: str, files: Example) -> list[Finding]:
    package = load_package(write_example(root, files), settings=Settings())
    return registry.instance(analyzer).analyze(package)


def undeclared(analyzer: str, findings: list[Finding]) -> set[str]:
    """Return ids an analyzer reported that are neither its RULES nor YAML rules."""
    declared = set(registry.analyzer_class(analyzer).RULES)
    return {f.rule_id for f in findings} - declared - YAML_RULE_IDS


@pytest.mark.parametrize(("analyzer", "entry"), ENTRIES)
def test_check_reports_its_hit(tmp_path: Path, analyzer: str, entry: CheckEntry):
    findings = run_example(tmp_path / "hit", analyzer, entry.hit)

    found = [f for f in findings if f.rule_id == entry.id]
    worst = max((f.severity for f in found), key=lambda s: s.rank, default=None)
    assert worst is entry.expected_severity, f"{entry.id} hit: {[f.severity for f in found]}"
    assert {f.category for f in found} == {entry.category}
    assert undeclared(analyzer, findings) == set()


@pytest.mark.parametrize(("analyzer", "entry"), ENTRIES)
def test_check_ignores_its_near_miss(tmp_path: Path, analyzer: str, entry: CheckEntry):
    findings = run_example(tmp_path / "miss", analyzer, entry.miss)

    found = [f for f in findings if f.rule_id == entry.id]
    ceiling = entry.miss_at_most
    if ceiling is None:
        assert found == [], f"{entry.id} near miss reported: {[f.snippet for f in found]}"
    else:
        assert all(f.severity.rank <= ceiling.rank for f in found), [f.severity for f in found]
    assert undeclared(analyzer, findings) == set()


@pytest.mark.parametrize(("analyzer", "entry"), ENTRIES)
def test_near_miss_is_safe_under_every_analyzer(tmp_path: Path, analyzer: str, entry: CheckEntry):
    package = load_package(write_example(tmp_path / "miss", entry.miss), settings=Settings())

    findings = [f for name in registry.names() for f in registry.instance(name).analyze(package)]

    unsafe = {(f.rule_id, f.severity.value) for f in findings if f.severity.rank >= HIGH_RANK}
    assert unsafe == set(), f"the near miss of {entry.id} ({analyzer}) is not a benign skill"


def code_checks() -> dict[str, CodeCheck]:
    """Return every `CodeCheck` defined at module level in `scanner.analyzers`, by id."""
    found: dict[str, CodeCheck] = {}
    for module in _analyzer_modules():
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, CodeCheck):
                found[value.id] = value
    return found


def _analyzer_modules() -> list[str]:
    package = scanner.analyzers
    return [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]


def stub(check_id: str, check: CodeCheck | None) -> str:
    """Return the YAML entry to paste for an undocumented check (prefilled when known)."""
    categories = ", ".join(c.value for c in Category)
    title = json.dumps(check.title) if check else "<one line>"
    category = check.category.value if check else f"<CATEGORY>  # one of: {categories}"
    why = (
        json.dumps(check.description)
        if check
        else "<why it matters; what moves it; false positives>"
    )
    remediation = json.dumps(check.remediation) if check else "<what to do instead>"
    return (
        f"  - id: {check_id}\n"
        f"    severity: <{'|'.join(s.value for s in Severity)}>  # the base level\n"
        f"    category: {category}\n"
        f"    title: {title}\n"
        f"    why: {why}\n"
        f"    remediation: {remediation}\n"
        "    hit:   # a tiny skill it must report: relative path -> content\n"
        "      scripts/example.py: |\n        ...\n"
        "    miss:  # a benign look-alike it must not report\n"
        "      scripts/example.py: |\n        ...\n"
    )


def coverage_problems() -> list[str]:
    """Compare each analyzer's declared ids with its catalogue file, both ways."""
    problems: list[str] = []
    for name in registry.names():
        problems += _analyzer_problems(name, code_checks())
    problems += [
        f"{CHECKS_DIR}/{name}.yaml names no registered analyzer "
        f"(registered: {', '.join(registry.names())}): rename or remove it."
        for name in sorted(set(CATALOGUE) - set(registry.names()))
    ]
    return problems


def _analyzer_problems(name: str, checks: dict[str, CodeCheck]) -> list[str]:
    cls = registry.analyzer_class(name)
    declared = list(cls.RULES)
    documented = {e.id for e in CATALOGUE[name].checks} if name in CATALOGUE else set()
    where = f"{CHECKS_DIR}/{name}.yaml"
    missing = [
        f"analyzer `{name}` declares `{check_id}` in {cls.__name__}.RULES but {where} "
        f"has no entry for it. Add under `checks:` in {where} (create the file if "
        f"needed), then run `python -m scanner.rulebook > docs/rules.md`:\n"
        f"{stub(check_id, checks.get(check_id))}"
        for check_id in declared
        if check_id not in documented
    ]
    stale = [
        f"{where} documents `{check_id}`, which analyzer `{name}` does not declare: "
        f"add it to {cls.__name__}.RULES if the analyzer emits it, else remove the entry."
        for check_id in sorted(documented - set(declared))
    ]
    return missing + stale


def test_every_declared_check_has_a_catalogue_entry_and_back():
    problems = coverage_problems()

    assert problems == [], "\n\n".join(problems)


def emitted_literals() -> dict[str, set[str]]:
    """Return check-id-shaped string literals of the analyzer modules, by module file."""
    prefixes = set(registry.names()) | {
        check_id.split(".")[0]
        for name in registry.names()
        for check_id in registry.analyzer_class(name).RULES
    }
    found: dict[str, set[str]] = {}
    for module in _analyzer_modules():
        spec = importlib.util.find_spec(module)
        assert spec is not None
        assert spec.origin is not None
        path = Path(spec.origin)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            head, dot, tail = node.value.partition(".")
            if dot and head in prefixes and tail and _is_check_tail(tail):
                found.setdefault(str(path.relative_to(REPO)), set()).add(node.value)
    return found


def _is_check_tail(tail: str) -> bool:
    return tail[0].isalpha() and all(c.islower() or c.isdigit() or c == "-" for c in tail)


def test_every_check_id_written_in_code_is_declared():
    declared = {i for name in registry.names() for i in registry.analyzer_class(name).RULES}

    problems = [
        f"{path} names `{check_id}`, which no analyzer declares: add it to the RULES of the "
        f"analyzer that emits it, and an entry to {CHECKS_DIR}/<analyzer>.yaml."
        for path, ids in sorted(emitted_literals().items())
        for check_id in sorted(ids - declared - YAML_RULE_IDS)
    ]

    assert problems == [], "\n".join(problems)


def test_every_code_check_object_is_declared_by_an_analyzer():
    declared = {i for name in registry.names() for i in registry.analyzer_class(name).RULES}

    checks = code_checks()

    assert {"py.shell-injection", "supply.typosquat", "obfusc.encoded-payload"} <= set(checks)
    assert sorted(set(checks) - declared) == [], (
        "each CodeCheck above is defined in scanner/analyzers but in no analyzer's RULES: add "
        "its id to the RULES of the analyzer that reports it (e.g. SignaturesAnalyzer.RULES)"
    )


def test_catalogue_folder_is_not_read_as_rule_packs():
    packs = load_packs()

    assert "checks" not in {pack.pack for pack in packs}
    assert len(packs) == len(list((REPO / "scanner" / "rules").glob("*.yaml")))


def test_example_writer_builds_every_content_form(tmp_path: Path):
    catalogue = parse_catalogue(
        """
checks:
  - id: demo.thing
    severity: high
    category: package_integrity
    title: A thing
    why: Because.
    remediation: Remove it.
    hit:
      notes.txt: {text: "ab\\n", repeat: 3}
      data.bin: {base64: "AAEC"}
      link: {symlink: ../outside}
      pipe: {fifo: true}
    miss:
      SKILL.md: {absent: true}
      plain.md: "# Plain\\n"
""",
        "demo.yaml",
    )
    entry = catalogue.checks[0]

    hit = write_example(tmp_path / "hit", entry.hit)
    miss = write_example(tmp_path / "miss", entry.miss)

    assert entry.severity is Severity.HIGH
    assert (hit / "notes.txt").read_text() == "ab\nab\nab\n"
    assert (hit / "data.bin").read_bytes() == b"\x00\x01\x02"
    assert (hit / "link").readlink() == Path("../outside")
    assert (hit / "pipe").is_fifo()
    assert (hit / "SKILL.md").read_text() == DEFAULT_SKILL_MD
    assert sorted(p.name for p in miss.iterdir()) == ["plain.md"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("checks: []", "at least 1 item"),
        ("checks: [{id: x.y}]", "Field required"),
        ("not: [valid", "invalid YAML"),
    ],
)
def test_bad_catalogue_files_are_refused(body: str, message: str):
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(body, "bad.yaml")


def test_example_paths_must_stay_inside_the_example():
    entry = {
        "id": "demo.thing",
        "severity": "LOW",
        "category": "manifest",
        "title": "t",
        "why": "w",
        "remediation": "r",
        "miss": {"a.txt": "x"},
    }
    for path in ("../escape.txt", "/etc/passwd", "a\\b.txt"):
        with pytest.raises(ValueError, match="must be relative"):
            CheckEntry.model_validate({**entry, "hit": {path: "x"}})


def test_duplicate_ids_in_one_file_are_refused():
    entry = (
        "  - {id: x.y, severity: LOW, category: manifest, title: t, why: w, remediation: r,"
        " hit: {a.txt: x}, miss: {b.txt: y}}\n"
    )

    with pytest.raises(CatalogueError, match="duplicate check ids"):
        parse_catalogue("checks:\n" + entry + entry, "dup.yaml")
