"""The YARA packs: every pack compiles, every rule's examples hold, findings are located."""

from __future__ import annotations

import pytest

from scanner.analyzers._yara import (
    YaraEngine,
    YaraError,
    all_rules,
    compile_sources,
    default_engine,
    example_bytes,
    pack_sources,
    parse_rules,
)
from scanner.core.models import Severity
from tests.analyzers.support import of_rule, skill_md

RULES = all_rules()
ELF = bytes.fromhex("7f454c46020101000000000000000000")
META = """
        id = "yara.test-rule"
        severity = "HIGH"
        category = "obfuscation"
        title = "Test rule"
        why = "Exists only to test the loader."
        remediation = "Nothing to do."
        hit = "needle"
        miss = "hay"
"""


def matched_ids(data: bytes) -> set[str]:
    return {hit.meta.id for hit in default_engine().scan(data)}


def test_every_pack_compiles_and_holds_documented_rules():
    sources = pack_sources()

    compile_sources(sources)

    assert len(sources) >= 5
    assert len(RULES) == default_engine().rule_count >= 10
    assert all(rule.meta.id.startswith("yara.") for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=[rule.meta.id for rule in RULES])
def test_rule_matches_its_hit_and_not_its_near_miss(rule):
    hit = example_bytes(rule.meta.hit)
    miss = example_bytes(rule.meta.miss)

    assert rule.meta.id in matched_ids(hit)
    assert rule.meta.id not in matched_ids(miss)


def test_examples_are_read_as_hex_base64_or_text():
    assert example_bytes("hex:7f45 4c46") == b"\x7fELF"
    assert example_bytes("base64:f0VMRg==") == b"\x7fELF"
    assert example_bytes("plain") == b"plain"


def test_rule_without_full_meta_is_refused():
    source = 'rule r { meta: id = "yara.x" strings: $a = "x" condition: $a }'

    with pytest.raises(YaraError, match="rule r"):
        parse_rules("bad.yar", source)


def test_pack_that_does_not_compile_is_refused():
    source = f'rule r {{ meta: {META} strings: $a = "x" condition: $b }}'

    with pytest.raises(YaraError, match=r"bad\.yar"):
        compile_sources({"bad.yar": source})


def test_private_rules_need_no_meta_and_public_ones_report_theirs():
    source = (
        "private rule base { condition: filesize > 0 }\n"
        f'rule r {{\n    meta:{META}\n    strings:\n        $a = "needle"\n'
        "    condition:\n        base and $a\n}\n"
    )

    engine = YaraEngine({"test.yar": source})
    hits = engine.scan(b"\0\0a needle here\0")

    assert engine.rule_count == 1
    assert [(h.meta.id, h.offsets, h.length, h.matched) for h in hits] == [
        ("yara.test-rule", (4,), 6, b"a needle here")
    ]


def test_miner_binary_in_a_skill_is_critical(scan):
    binary = ELF + b"\0" * 64 + b"stratum+tcp://pool.example.invalid:3333\0xmrig\0"

    findings = of_rule(scan({"bin/helper": binary}, "signatures"), "yara.miner-binary")

    assert [(f.severity, f.file_path, f.line_number) for f in findings] == [
        (Severity.CRITICAL, "bin/helper", None)
    ]
    assert "stratum+tcp://pool.example.invalid" in (findings[0].snippet or "")


def test_text_match_is_located_by_line(scan):
    config = (
        '{\n  "autosave": true,\n  "donate-level": 1,\n  "randomx": {"1gb-pages": true},\n'
        '  "pools": [{"url": "pool.example.invalid:443", "rig-id": "a"}]\n}\n'
    )

    findings = of_rule(scan({"assets/config.json": config}, "signatures"), "yara.miner-config")

    assert [(f.severity, f.line_number) for f in findings] == [(Severity.HIGH, 3)]


def test_line_numbers_count_characters_not_bytes(scan):
    shell = "<?php\n// réglages é à ü\n@eval(base64_decode($_POST['c']));\n"

    findings = of_rule(scan({"web/x.php": shell}, "signatures"), "yara.webshell")

    assert [(f.severity, f.line_number) for f in findings] == [(Severity.CRITICAL, 3)]


def test_quoted_example_in_a_security_lesson_drops_to_info(scan):
    body = (
        "# Reviewing uploads\n\n## Red flags of a web shell\n\n"
        "Attackers leave pages such as `<?php eval($_POST['x']); ?>` behind.\n"
    )

    findings = of_rule(scan({"SKILL.md": skill_md(body)}, "signatures"), "yara.webshell")

    assert [f.severity for f in findings] == [Severity.INFO]


def test_ordinary_binaries_and_config_stay_quiet(scan):
    files = {
        "bin/tool": ELF + b"\0usage: tool [--help]\0/tmp/\0curl \0",
        "assets/app.json": '{"pools": {"db": 4}, "cpu": {"limit": 2}, "keepalive": true}',
        "scripts/db.py": "POOL = {'max': 4}\nprint('Login Data saved')\n",
    }

    findings = scan(files, "signatures")

    assert [f.rule_id for f in findings if f.rule_id.startswith("yara.")] == []
