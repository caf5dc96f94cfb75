"""The command line: exit codes, formats and errors, run as a user would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def test_unsafe_skill_exits_1_with_json_report(corpus_copy: Path):
    proc = run_cli("scan", str(corpus_copy / "scheduler-stress-test"), "--format", "json")

    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert report["is_safe"] is False
    assert report["skill_name"] == "scheduler-stress-test"
    assert any(f["file_path"] == "scripts/stress.sh" for f in report["findings"])


def test_safe_skill_exits_0_with_table(corpus_copy: Path):
    proc = run_cli("scan", str(corpus_copy / "git-churn-report"))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("git-churn-report: SAFE (policy balanced")


def test_use_behavioral_flag_adds_dataflow_findings(corpus_copy: Path):
    skill = str(corpus_copy / "code-search")

    plain = json.loads(run_cli("scan", skill, "--format", "json").stdout)
    proc = run_cli("scan", skill, "--format", "json", "--use-behavioral")

    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert "behavioral" in report["analyzers_used"]
    assert "behavioral" not in plain["analyzers_used"]
    hits = [f for f in report["findings"] if f["rule_id"] == "behavioral.command-injection"]
    assert [(f["file_path"], f["line_number"], f["severity"]) for f in hits] == [
        ("scripts/search.py", 8, "HIGH")
    ]


def test_missing_folder_exits_2_with_message(tmp_path: Path):
    proc = run_cli("scan", str(tmp_path / "nope"))

    assert proc.returncode == 2
    assert "is not a folder" in proc.stderr
    assert proc.stdout == ""


def test_unknown_policy_exits_2(corpus_copy: Path):
    proc = run_cli("scan", str(corpus_copy / "git-churn-report"), "--policy", "paranoid")

    assert proc.returncode == 2
    assert "unknown policy" in proc.stderr


def test_scan_all_reports_each_skill(corpus_copy: Path):
    proc = run_cli("scan-all", str(corpus_copy), "--format", "json")

    reports = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert len(reports) == len(list(corpus_copy.iterdir()))


def test_bad_arguments_exit_2():
    proc = run_cli("scan")

    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_scan_all_without_skills_exits_2(tmp_path: Path):
    proc = run_cli("scan-all", str(tmp_path))

    assert proc.returncode == 2
    assert "no skill folders" in proc.stderr


def test_serve_refuses_a_public_address_without_confinement():
    proc = run_cli("serve", "--host", "0.0.0.0", "--port", "0", timeout=60)

    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0" in proc.stderr
    assert "SKILL_SCANNER_ALLOWED_ROOTS" in proc.stderr


def test_help_shows_each_optional_analyzer_with_its_settings():
    proc = run_cli("scan", "--help")

    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0

    assert "--use-behavioral also run the behavioral analyzer" in text
    assert "--use-llm ask an LLM to review the skill; needs SKILL_SCANNER_LLM_API_KEY" in text
    assert "--use-virustotal look up the hashes" in text
    assert "VIRUSTOTAL_API_KEY" in text
    assert "AI_DEFENSE_API_KEY and AI_DEFENSE_API_URL" in text
    assert "--enable-meta let an LLM review" in text


def test_help_says_not_included_exactly_for_the_flags_this_build_lacks():
    from scanner.cli import OPTIONAL_ANALYZER_HELP
    from scanner.engine import import_plugins, unavailable_flags

    import_plugins(())
    missing = {flag.replace("_", "-") for flag in unavailable_flags()}

    said_missing = {flag for flag, text in OPTIONAL_ANALYZER_HELP.items() if "not included" in text}
    assert said_missing == missing
    assert missing == {"use-llm", "use-virustotal", "use-aidefense", "enable-meta"}


def test_flag_of_an_analyzer_this_build_lacks_exits_2(corpus_copy: Path):
    proc = run_cli("scan", str(corpus_copy / "git-churn-report"), "--use-llm")

    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "skill-scanner: error: use_llm: the 'llm' analyzer is not available in this version "
        "of the scanner; remove the flag or set it to false"
    ]


def test_serve_on_a_busy_port_exits_2_with_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        proc = run_cli("serve", "--port", str(port), timeout=60)

    errors = [line for line in proc.stderr.splitlines() if not line.startswith("{")]
    assert proc.returncode == 2
    assert errors == [f"skill-scanner: error: port {port} on 127.0.0.1 is in use"]


def test_policy_with_unknown_rule_id_exits_2_with_one_line(corpus_copy: Path, tmp_path: Path):
    policy = tmp_path / "team.yaml"
    policy.write_text("name: team\ndisabled_rules: ['manifest.name-*', 'exfil.dns-tunel']\n")

    proc = run_cli("scan", str(corpus_copy / "git-churn-report"), "--policy", str(policy))

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "skill-scanner: error: policy key 'disabled_rules': unknown rule id 'exfil.dns-tunel'; "
        "did you mean 'exfil.dns-tunnel'?"
    ]
