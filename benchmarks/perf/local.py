"""Measurements that run without HTTP: the static engine in-process, the CLI, start-up."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.perf import gen

REPO = Path(__file__).resolve().parents[2]


def write_text_skill(folder: Path, mib: int, seed: int) -> Path:
    """Write a skill holding about `mib` MiB of mixed Markdown, Python and shell."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(gen.skill_md(folder.name, 2048, seed))
    for rel, body in gen.mixed_text_files(mib * gen.MIB, seed):
        (folder / rel).write_text(body)
    return folder


def engine_rate(workdir: Path, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Run every static analyzer in this process (one core) on 1, 4, 16 MiB of text."""
    import scanner.analyzers  # noqa: F401 - registers the analyzers
    from scanner.analyzers import registry
    from scanner.intake.loader import load_package
    from scanner.settings import Settings

    settings = Settings()
    analyzers = {name: registry.instance(name) for name in registry.names()}
    rows = []
    for mib in sizes:
        folder = write_text_skill(workdir / f"engine-{mib}", mib, seed=mib)
        t0 = time.perf_counter()
        package = load_package(folder, settings=settings)
        load_s = time.perf_counter() - t0
        text_bytes = sum(len(f.text.encode()) for f in package.files if f.text is not None)
        per: dict[str, float] = {}
        for name, analyzer in analyzers.items():
            t1 = time.perf_counter()
            analyzer.run(package)
            per[name] = round(time.perf_counter() - t1, 3)
        total = sum(per.values())
        rows.append(
            {
                "mib": mib,
                "files": len(package.files),
                "text_bytes": text_bytes,
                "load_s": round(load_s, 3),
                "analyzers_s": per,
                "total_s": round(total, 3),
                "mb_per_s": round(text_bytes / 1e6 / total, 2),
                "load_mb_per_s": round(text_bytes / 1e6 / load_s, 1),
            }
        )
    return rows


def cli_wall(skill: Path, runs: int) -> dict[str, Any]:
    """Time `skill-scanner scan <skill>` as a fresh process, start-up included."""
    exe = Path(sys.executable).with_name("skill-scanner")
    cmd = (
        [str(exe), "scan", str(skill)]
        if exe.exists()
        else [sys.executable, "-m", "scanner", "scan", str(skill)]
    )
    times, codes = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, check=False, cwd=REPO)
        times.append(time.perf_counter() - t0)
        codes.append(proc.returncode)
    return {
        "command": " ".join(["skill-scanner", "scan", "<small skill>"]),
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "exit_codes": sorted(set(codes)),
        "heaviest_imports": heaviest_imports(skill),
    }


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def heaviest_imports(skill: Path, top: int = 8) -> list[dict[str, Any]]:
    """Return the top-level imports of the CLI process by cumulative time (-X importtime)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "scanner", "scan", str(skill)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    rows = []
    for line in proc.stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found and len(found.group(3)) <= 1:
            rows.append({"module": found.group(4), "cumulative_ms": int(found.group(2)) / 1000})
    rows.sort(key=lambda row: -row["cumulative_ms"])
    return rows[:top]


def machine() -> dict[str, Any]:
    """Describe this machine: CPU model and count, memory, OS, Python."""
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        model = "unknown"
    mem_mib = 0
    try:
        with open("/proc/meminfo") as fh:
            mem_mib = int(next(ln for ln in fh if ln.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        mem_mib = 0
    load = os.getloadavg()
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_mib": mem_mib,
        "os": " ".join(os.uname()[0:3:2]),
        "python": sys.version.split()[0],
        "load_average_at_start": [round(x, 2) for x in load],
    }
