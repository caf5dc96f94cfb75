"""The performance benchmark's generators and renderer (the benchmark itself never runs here)."""

import asyncio
import hashlib
import zipfile

from benchmarks.perf import __main__ as perf_main
from benchmarks.perf import gen, render
from benchmarks.perf.scenarios import Sample, pct, summarize


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def test_write_skill_is_deterministic_and_shaped(tmp_path):
    shape = gen.SkillShape("medium", 20, 200 * gen.KIB)

    one = gen.write_skill(tmp_path / "a" / "s", shape, seed=3)
    two = gen.write_skill(tmp_path / "b" / "s", shape, seed=3)
    other = gen.write_skill(tmp_path / "c" / "s", shape, seed=4)

    files = [p for p in one.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert len(files) == 20
    assert shape.total_bytes <= total <= shape.total_bytes * 1.2
    assert (one / "SKILL.md").read_text().startswith("---\nname: s\ndescription: ")
    assert _digest(one) == _digest(two) != _digest(other)


def test_small_skill_is_skill_md_and_two_scripts(tmp_path):
    folder = gen.write_skill(tmp_path / "small", gen.SMALL, seed=1)

    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    assert names == ["SKILL.md", "scripts/part_001.py", "scripts/part_002.sh"]


def test_asset_skill_archive_is_about_the_asked_size(tmp_path):
    folder = gen.write_asset_skill(tmp_path / "up", 2 * gen.MIB, seed=9)

    size = gen.zip_skill(folder, tmp_path / "up.zip", deflate=True)

    assert 1.8 * gen.MIB < size < 2.2 * gen.MIB
    with zipfile.ZipFile(tmp_path / "up.zip") as archive:
        assert "up/SKILL.md" in archive.namelist()


def test_endless_zip_bytes_yields_exactly_the_total_in_bounded_chunks():
    chunks = list(gen.endless_zip_bytes(10 * 64 * 1024 + 5))

    assert sum(len(c) for c in chunks) == 10 * 64 * 1024 + 5
    assert max(len(c) for c in chunks) == 64 * 1024
    assert chunks[0].startswith(b"PK\x03\x04")


def test_pct_and_summarize_count_only_successes():
    samples = [Sample(s / 100, 200, server_seconds=0.001) for s in range(1, 101)]
    samples.append(Sample(9.0, 500))

    summary = summarize(samples)

    assert pct([3.0, 1.0, 2.0], 0.5) == 2.0
    assert (summary["n"], summary["median_s"], summary["p99_s"]) == (101, 0.505, 0.99)
    assert summary["statuses"] == {"200": 100, "500": 1}


def _report():
    lat = {
        "n": 3,
        "median_s": 0.01,
        "p99_s": 0.02,
        "max_s": 0.02,
        "server_median_s": 0.005,
        "statuses": {"200": 3},
        "verdicts": {"safe": 3},
        "findings_counts": [0],
    }
    slow = dict(lat, median_s=2.0, p99_s=3.0)
    return {
        "started": "2026-12-03T21:00:00+00:00",
        "finished": "2026-12-03T21:05:00+00:00",
        "quick": True,
        "wall_s": 300.0,
        "machine": {
            "cpus": 2,
            "cpu_model": "Test CPU",
            "memory_mib": 1024,
            "os": "Linux 6",
            "python": "3.11.7",
            "load_average_at_start": [0.1, 0.1, 0.1],
        },
        "targets": [
            {
                "name": "ours",
                "base_url": "http://127.0.0.1:1",
                "version": "0.1.0",
                "startup_s": 0.5,
                "notes": [],
            }
        ],
        "scan": {
            "small": {"files": 3, "bytes": 3000, "ours": lat, "compare": slow, "ratio": 200.0},
            "medium": {
                "files": 20,
                "bytes": 512 * 1024,
                "ours": dict(lat, median_s=0.5),
                "ratio": None,
            },
            "large": {
                "files": 200,
                "bytes": 20 * 1024 * 1024,
                "ours": dict(lat, median_s=20.0),
                "ratio": None,
            },
        },
        "upload": {
            k: {"archive_bytes": 1024 * 1024, "ours": lat, "ratio": None}
            for k in ("1MB", "20MB", "20MB-text")
        },
        "oversized": {
            "upload_bytes": 1024**3,
            "ours": [
                {
                    "declared_length": False,
                    "status": 413,
                    "body_bytes_sent": 52 * 1024 * 1024,
                    "server_read": 50 * 1024 * 1024 + 100,
                    "seconds": 1.0,
                    "error": None,
                }
            ],
        },
        "batch": [
            {
                "skills": n,
                "ours": {
                    "seconds": n / 200,
                    "status": "completed",
                    "skills": n,
                    "skills_per_s": 200.0,
                    "memory": None,
                },
            }
            for n in (10, 20, 40)
        ],
        "concurrency": [
            {
                "clients": 32,
                "archive_bytes": 1,
                "ours": dict(
                    lat,
                    seconds=1.0,
                    uploads_per_s=3.0,
                    mb_per_s=60.0,
                    memory={
                        "peak_pss_mib": 500.0,
                        "peak_rss_mib": 600.0,
                        "peak_parent_rss_mib": 300.0,
                        "processes": 5,
                        "samples": 10,
                    },
                    health=dict(lat, p99_s=0.01),
                ),
            }
        ],
        "engine": [
            {
                "mib": 1,
                "files": 17,
                "text_bytes": 10**6,
                "load_s": 0.02,
                "analyzers_s": {"signatures": 1.0},
                "total_s": 1.0,
                "mb_per_s": 1.0,
            }
        ],
        "warm": [
            {
                "skill": "typical",
                "files": 4,
                "bytes": 24 * 1024,
                "in_process": {
                    "rounds": 20,
                    "load_ms": 0.9,
                    "analyzers_ms": {"behavioral": 9.0, "signatures": 30.0},
                    "default_analyzers": ["signatures"],
                    "default_median_ms": 30.0,
                    "default_p99_ms": 40.0,
                },
                "one_worker": {
                    "rounds": 20,
                    "median_ms": 61.5,
                    "p99_ms": 80.0,
                    "findings": 0,
                    "failed_analyzers": [],
                },
            }
        ],
        "cli": {
            "command": "skill-scanner scan <small skill>",
            "runs": 3,
            "median_s": 0.6,
            "min_s": 0.5,
            "max_s": 0.7,
            "exit_codes": [0],
            "heaviest_imports": [{"module": "scanner", "cumulative_ms": 50.0}],
        },
    }


def test_checks_judge_each_target_from_the_numbers():
    verdicts = {c["name"]: c["pass"] for c in render.checks(_report())}

    assert verdicts["`/scan` small, median"] is True
    assert verdicts["`/scan` small, speed-up over the comparison server"] is True
    assert verdicts["1 GB chunked upload: bytes the server read before the 413"] is True
    assert verdicts["32 concurrent uploads: peak memory (PSS, all processes)"] is False
    assert verdicts["time per MB, large skill / medium skill"] is True


def test_render_writes_tables_into_the_results_section(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\n\n{render.START}\nold\n{render.END}\n\nafter\n")

    render.replace_section(doc, render.markdown(_report()))

    text = doc.read_text()
    assert "old" not in text
    assert text.endswith(f"{render.END}\n\nafter\n")
    assert "| small | 3 | 0.0 | 10.0 | 20.0 | 5.0 | 2,000.0 | 3,000.0 | 5.0 | 200.0x |" in text
    assert (
        "| 32 concurrent uploads: peak memory (PSS, all processes) | < 400 MiB | 500.0 MiB" in text
    )


def test_warm_worker_check_and_table_use_the_one_worker_median():
    report = _report()
    verdicts = {c["name"]: c for c in render.checks(report)}

    text = render.markdown(report)

    warm = verdicts["static analysis of a typical skill in a warm worker, median"]
    assert (warm["value"], warm["pass"]) == ("61.5 ms", False)
    assert verdicts["static engine on 1 MiB of text, one core"]["value"] == "1.0 MB/s"
    assert "| typical | 4 | 24.0 | **61.5** | 80.0 | 30.0 | 0.9 | 9.0 | 30.0 |" in text
    assert "behavioral ms (opt-in) | signatures ms |" in text


def test_report_without_warm_rows_renders_and_says_why_comparison_is_missing():
    report = _report()
    del report["warm"]
    report["compare_unavailable"] = "cisco-ai-skill-scanner==2.3.2: pip install failed"

    text = render.markdown(report)

    assert "warm worker" not in text
    assert "**Comparison not run.** cisco-ai-skill-scanner==2.3.2: pip install failed" in text


def test_has_section_needs_both_markers_in_order(tmp_path):
    good, reversed_, missing = tmp_path / "a.md", tmp_path / "b.md", tmp_path / "c.md"
    good.write_text(f"x\n{render.START}\n{render.END}\n")
    reversed_.write_text(f"{render.END}\n{render.START}\n")

    assert render.has_section(good)
    assert not render.has_section(reversed_)
    assert not render.has_section(missing)


def test_comparison_server_that_exits_is_reported_not_fatal(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    exe = venv / "bin" / "skill-scanner-api"
    exe.write_text("#!/bin/sh\necho 'ImportError: no module named fastapi' >&2\nexit 3\n")
    exe.chmod(0o755)
    report: dict = {}

    started = asyncio.run(perf_main._start_compare_or_say_why(tmp_path, venv, tmp_path, report))

    assert started is None
    assert report["compare_unavailable"].startswith("cisco-ai-skill-scanner==")
    assert "compare server exited with 3" in report["compare_unavailable"]
    assert "ImportError: no module named fastapi" in report["compare_unavailable"]
