"""Turn a results JSON into Markdown tables and checks against the targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIB = 1024 * 1024
START = "<!-- perf-results:start -->"
END = "<!-- perf-results:end -->"
# NOTE: the cap, plus the 64 KiB chunk the server checks against it, plus one socket
# read of asyncio (256 KiB) already taken into aiohttp's buffer; the client's count
# is exact to one 64 KiB chunk (see client.oversized_upload).
OVERSIZED_ALLOWANCE = 50 * MIB + 6 * 64 * 1024


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.1f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _n(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _mib(value: float | int) -> str:
    return f"{value / MIB:,.1f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _statuses(item: dict[str, Any] | None) -> str:
    if not item:
        return "-"
    return ", ".join(f"{k}: {v}" for k, v in item["statuses"].items())


def _verdicts(item: dict[str, Any] | None) -> str:
    if not item or not item.get("verdicts"):
        return "-"
    found = "/".join(str(n) for n in item.get("findings_counts") or [])
    text = ", ".join(f"{k} {v}" for k, v in item["verdicts"].items())
    return f"{text}; findings {found}" if found else text


def _latency_rows(section: dict[str, Any], size_key: str) -> list[list[str]]:
    rows = []
    for label, item in section.items():
        ours, other = item["ours"], item.get("compare")
        rows.append(
            [
                label,
                f"{item.get('files', '-')}",
                _mib(item[size_key]),
                _ms(ours["median_s"]),
                _ms(ours["p99_s"]),
                _ms(ours["server_median_s"]),
                _ms(other["median_s"]) if other else "-",
                _ms(other["p99_s"]) if other else "-",
                _ms(other["server_median_s"]) if other else "-",
                f"{item['ratio']}x" if item.get("ratio") else "-",
                f"{ours['n']} / {other['n'] if other else '-'}",
                f"{_statuses(ours)} / {_statuses(other)}",
                f"{_verdicts(ours)} / {_verdicts(other)}",
            ]
        )
    return rows


_LAT_HEAD = [
    "input",
    "files",
    "MiB",
    "ours median ms",
    "ours p99 ms",
    "ours in-server ms",
    "compare median ms",
    "compare p99 ms",
    "compare in-server ms",
    "ratio",
    "n ours / compare",
    "statuses ours / compare",
    "verdicts ours / compare",
]


def _head(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Run {report['started']} to {report.get('finished', '?')} "
        f"({'quick' if report['quick'] else 'full'}, {report.get('wall_s', '?')} s). "
        f"Machine: {m['cpus']} x {m['cpu_model']}, {m['memory_mib']:,} MiB, {m['os']}, "
        f"Python {m['python']}; load average at start {m['load_average_at_start']}.",
        "",
    ]
    rows = [
        [t["name"], t["base_url"], str(t["version"]), _s(t["startup_s"]), "; ".join(t["notes"])]
        for t in report.get("targets", [])
    ]
    lines.append(_table(["target", "url", "version", "start-up s", "notes"], rows))
    if report.get("compare_unavailable"):
        lines += ["", f"**Comparison not run.** {report['compare_unavailable']}"]
    return "\n".join(lines)


def _oversized(report: dict[str, Any]) -> str:
    section = report["oversized"]
    rows = []
    for name in ("ours", "compare"):
        for item in section.get(name, []):
            framing = "Content-Length" if item["declared_length"] else "chunked"
            rows.append(
                [
                    name,
                    framing,
                    str(item["status"]),
                    f"{item['body_bytes_sent']:,}",
                    _mib(item["body_bytes_sent"]),
                    _n(item.get("server_read")),
                    _mib(item["server_read"]) if item.get("server_read") is not None else "-",
                    _s(item["seconds"]),
                    item["error"] or "-",
                ]
            )
    head = [
        "target",
        "framing",
        "status",
        "bytes sent",
        "MiB sent",
        "server read (bound)",
        "MiB read",
        "seconds",
        "client error",
    ]
    return f"Upload of {_mib(section['upload_bytes'])} MiB:\n\n" + _table(head, rows)


def _mem(item: dict[str, Any] | None) -> str:
    if not item or not item.get("memory"):
        return "-"
    mem = item["memory"]
    return f"{mem['peak_pss_mib']} / {mem['peak_rss_mib']} ({mem['processes']} proc)"


def _batch(report: dict[str, Any]) -> str:
    rows = []
    for row in report["batch"]:
        ours, other = row["ours"], row.get("compare")
        rows.append(
            [
                _n(row["skills"]),
                f"{ours['status']} {ours['skills']}",
                _s(ours["seconds"]),
                _n(ours["skills_per_s"]),
                f"{ours['seconds'] / max(1, ours['skills']) * 1000:.2f}",
                _mem(ours),
                _s(other["seconds"]) if other else "-",
                _n(other["skills_per_s"]) if other else "-",
                f"{other['status']} {other['skills']}" if other else "-",
            ]
        )
    head = [
        "skills",
        "ours status",
        "ours s",
        "ours skills/s",
        "ours ms/skill",
        "ours peak PSS / RSS MiB",
        "compare s",
        "compare skills/s",
        "compare status",
    ]
    return _table(head, rows)


def _concurrency(report: dict[str, Any]) -> str:
    rows = []
    for block in report["concurrency"]:
        for name in ("ours", "compare"):
            item = block.get(name)
            if not item:
                continue
            rows.append(
                [
                    str(block["clients"]),
                    name,
                    str(item["n"]),
                    _statuses(item),
                    _ms(item["median_s"]),
                    _ms(item["p99_s"]),
                    _n(item["uploads_per_s"]),
                    _n(item["mb_per_s"]),
                    _ms(item["health"]["p99_s"]),
                    _statuses(item["health"]),
                    _mem(item),
                ]
            )
    head = [
        "clients",
        "target",
        "uploads",
        "statuses",
        "median ms",
        "p99 ms",
        "uploads/s",
        "MB/s",
        "/health p99 ms",
        "/health statuses",
        "peak PSS / RSS MiB",
    ]
    return _table(head, rows)


def _engine(report: dict[str, Any]) -> str:
    names = list(report["engine"][0]["analyzers_s"]) if report["engine"] else []
    rows = [
        [
            str(row["mib"]),
            str(row["files"]),
            f"{row['text_bytes'] / 1e6:.1f}",
            _s(row["load_s"]),
            *[_s(row["analyzers_s"][n]) for n in names],
            _s(row["total_s"]),
            f"**{row['mb_per_s']}**",
        ]
        for row in report["engine"]
    ]
    head = ["MiB", "files", "text MB", "load s", *[f"{n} s" for n in names], "total s", "MB/s"]
    return _table(head, rows)


def _warm(report: dict[str, Any]) -> str:
    rows_in = report.get("warm") or []
    names = list(rows_in[0]["in_process"]["analyzers_ms"]) if rows_in else []
    default = rows_in[0]["in_process"]["default_analyzers"] if rows_in else []
    rows = []
    for row in rows_in:
        worker, inproc = row["one_worker"], row["in_process"]
        rows.append(
            [
                row["skill"],
                str(row["files"]),
                f"{row['bytes'] / 1024:.1f}",
                f"**{worker['median_ms']:.1f}**",
                f"{worker['p99_ms']:.1f}",
                f"{inproc['default_median_ms']:.1f}",
                f"{inproc['load_ms']:.1f}",
                *[f"{inproc['analyzers_ms'][n]:.1f}" for n in names],
            ]
        )
    head = [
        "skill",
        "files",
        "KiB",
        "one warm worker, median ms",
        "p99 ms",
        "in-process, default analyzers ms",
        "load ms",
        *[f"{n} ms" if n in default else f"{n} ms (opt-in)" for n in names],
    ]
    return _table(head, rows)


def _cli(report: dict[str, Any]) -> str:
    cli = report["cli"]
    imports = ", ".join(
        f"{i['module']} {i['cumulative_ms']:.0f} ms" for i in cli["heaviest_imports"]
    )
    return (
        f"`{cli['command']}`, {cli['runs']} runs: median **{_s(cli['median_s'])} s** "
        f"(min {_s(cli['min_s'])}, max {_s(cli['max_s'])}), exit codes {cli['exit_codes']}.\n\n"
        f"Heaviest top-level imports of the CLI process (`-X importtime`): {imports}."
    )


def markdown(report: dict[str, Any]) -> str:
    """Return the results as Markdown: tables and the checks against the targets."""
    parts = [
        _head(report),
        "### Targets\n\n" + _checks_table(report.get("checks") or checks(report)),
        "### `/scan` latency (end to end, one request at a time, alternating)\n\n"
        + _table(_LAT_HEAD, _latency_rows(report["scan"], "bytes")),
        "### `/scan-upload` latency (stored ZIP)\n\n"
        + _table(_LAT_HEAD, _latency_rows(report["upload"], "archive_bytes")),
        "### Oversized upload (refusal)\n\n" + _oversized(report),
        "### Batch throughput (small skills)\n\n" + _batch(report),
        "### Concurrent 20 MB uploads\n\n" + _concurrency(report),
        *(
            ["### One skill in a warm worker (one core)\n\n" + _warm(report)]
            if report.get("warm")
            else []
        ),
        "### Static engine, one process (one core)\n\n" + _engine(report),
        "### CLI\n\n" + _cli(report),
    ]
    whole = report.get("memory_whole_run")
    if whole:
        parts.append(
            f"Memory of our server over the whole HTTP part of the run: peak PSS "
            f"{whole['peak_pss_mib']} MiB, peak RSS sum {whole['peak_rss_mib']} MiB, parent "
            f"alone {whole['peak_parent_rss_mib']} MiB, {whole['processes']} processes."
        )
    return "\n\n".join(parts) + "\n"


def _checks_table(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in items:
        verdict = "n/a" if item["pass"] is None else ("pass" if item["pass"] else "**MISS**")
        rows.append([item["name"], item["target"], item["value"], verdict])
    return _table(["what", "target", "measured", "verdict"], rows)


def _check(name: str, target: str, value: str, ok: bool | None) -> dict[str, Any]:
    return {"name": name, "target": target, "value": value, "pass": ok}


def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the measurements with the targets of the performance issue."""
    out = []
    small = report["scan"]["small"]
    out.append(
        _check(
            "`/scan` small, median",
            "< 50 ms",
            _ms(small["ours"]["median_s"]) + " ms",
            _lt(small["ours"]["median_s"], 0.05),
        )
    )
    ratio = small.get("ratio")
    out.append(
        _check(
            "`/scan` small, speed-up over the comparison server",
            ">= 50x",
            f"{ratio}x" if ratio else "no comparison",
            None if ratio is None else ratio >= 50,
        )
    )
    for label, limit in (("1MB", 0.5), ("20MB", 5.0), ("20MB-text", 5.0)):
        item = report["upload"][label]["ours"]
        out.append(
            _check(
                f"`/scan-upload` {label}, median",
                f"< {limit} s",
                _s(item["median_s"]) + " s",
                _lt(item["median_s"], limit),
            )
        )
    out.extend(_engine_checks(report))
    out.append(_oversized_check(report))
    out.append(_batch_check(report))
    cli = report["cli"]["median_s"]
    out.append(_check("`skill-scanner scan` small, wall", "< 1 s", _s(cli) + " s", cli < 1.0))
    out.extend(_concurrency_checks(report))
    out.extend(_linearity_checks(report))
    return out


def _lt(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def _engine_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    typical = next((r for r in report.get("warm") or [] if r["skill"] == "typical"), None)
    if typical is not None:
        median = typical["one_worker"]["median_ms"]
        out.append(
            _check(
                "static analysis of a typical skill in a warm worker, median",
                "< 50 ms",
                f"{median:.1f} ms",
                median < 50,
            )
        )
    if report.get("engine"):
        row = max(report["engine"], key=lambda r: r["mib"])
        out.append(
            _check(
                f"static engine on {row['mib']} MiB of text, one core",
                "reported",
                f"{row['mb_per_s']} MB/s",
                None,
            )
        )
    return out


def _oversized_check(report: dict[str, Any]) -> dict[str, Any]:
    items = [i for i in report["oversized"]["ours"] if not i["declared_length"]]
    item = items[0] if items else {}
    read = item.get("server_read")
    if read is None:
        read = item.get("body_bytes_sent")
    status = item.get("status")
    ok = read is not None and status == 413 and read <= OVERSIZED_ALLOWANCE
    return _check(
        "1 GB chunked upload: bytes the server read before the 413",
        "<= 50 MiB + one buffer",
        f"{_mib(read or 0)} MiB, status {status}",
        ok,
    )


def _batch_check(report: dict[str, Any]) -> dict[str, Any]:
    row = max(report["batch"], key=lambda r: r["skills"])
    rate = row["ours"]["skills_per_s"]
    return _check(
        f"batch of {row['skills']} small skills", ">= 100 skills/s", f"{rate} skills/s", rate >= 100
    )


def _concurrency_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    block = max(report["concurrency"], key=lambda b: b["clients"])
    ours = block["ours"]
    errors = sum(v for k, v in ours["statuses"].items() if k != "200")
    memory = (ours.get("memory") or {}).get("peak_pss_mib")
    clients = block["clients"]
    return [
        _check(f"{clients} concurrent 20 MB uploads: errors", "0", str(errors), errors == 0),
        _check(
            f"{clients} concurrent uploads: `/health` p99",
            "< 50 ms",
            _ms(ours["health"]["p99_s"]) + " ms",
            _lt(ours["health"]["p99_s"], 0.05),
        ),
        _check(
            f"{clients} concurrent uploads: peak memory (PSS, all processes)",
            "< 400 MiB",
            f"{memory} MiB" if memory else "not sampled",
            None if memory is None else memory < 400,
        ),
    ]


def _linearity_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    scan = report["scan"]
    per_mb = {
        k: scan[k]["ours"]["median_s"] / (scan[k]["bytes"] / MIB) for k in ("medium", "large")
    }
    skill_growth = per_mb["large"] / per_mb["medium"]
    rows = sorted(report["batch"], key=lambda r: r["skills"])
    per_skill = [r["ours"]["seconds"] / max(1, r["ours"]["skills"]) for r in rows]
    batch_growth = per_skill[-1] / per_skill[1] if len(per_skill) > 1 else 1.0
    return [
        _check(
            "time per MB, large skill / medium skill",
            "<= 2 (linear)",
            f"{skill_growth:.2f}",
            skill_growth <= 2,
        ),
        _check(
            f"time per skill, batch of {rows[-1]['skills']} / batch of {rows[1]['skills']}",
            "<= 1.5 (linear)",
            f"{batch_growth:.2f}",
            batch_growth <= 1.5,
        ),
    ]


def has_section(path: Path) -> bool:
    """Return whether a Markdown file has the results markers, in order."""
    try:
        doc = path.read_text()
    except OSError:
        return False
    return START in doc and END in doc and doc.index(START) < doc.index(END)


def replace_section(path: Path, text: str) -> None:
    """Replace the text between the results markers of a Markdown file."""
    doc = path.read_text()
    start, end = doc.index(START) + len(START), doc.index(END)
    path.write_text(doc[:start] + "\n\n" + text + "\n" + doc[end:])
