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


WARM_UP_ROUNDS = 3


async def warm_analysis(skills: dict[str, Path], rounds: int) -> list[dict[str, Any]]:
    """Time the static analysis of each skill once the analyzers are built and warm.

    Two views of the same work: through an engine with a one-worker sandbox pool (what
    a server's worker does: load, hand-off, every default analyzer one after another,
    verdict), and in this process analyzer by analyzer, without the hand-off.
    """
    rows = []
    for label, folder in skills.items():
        row = {"skill": label, **_skill_size(folder)}
        row["in_process"] = in_process_analysis(folder, rounds)
        row["one_worker"] = await one_worker_scan(folder, rounds)
        rows.append(row)
    return rows


def _skill_size(folder: Path) -> dict[str, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def in_process_analysis(folder: Path, rounds: int) -> dict[str, Any]:
    """Time loading a skill and each analyzer on it, in this process (one core)."""
    import scanner.analyzers  # noqa: F401 - registers the analyzers
    from scanner.analyzers import registry
    from scanner.engine import default_analyzers
    from scanner.intake.loader import load_package
    from scanner.settings import Settings

    settings = Settings()
    analyzers = {name: registry.instance(name) for name in registry.names()}
    load: list[float] = []
    per: dict[str, list[float]] = {name: [] for name in analyzers}
    for index in range(WARM_UP_ROUNDS + rounds):
        t0 = time.perf_counter()
        package = load_package(folder, settings=settings)
        loaded = time.perf_counter() - t0
        for name, analyzer in analyzers.items():
            t1 = time.perf_counter()
            analyzer.run(package)
            if index >= WARM_UP_ROUNDS:
                per[name].append(time.perf_counter() - t1)
        if index >= WARM_UP_ROUNDS:
            load.append(loaded)
    default = default_analyzers()
    totals = [sum(per[name][i] for name in default) for i in range(rounds)]
    return {
        "rounds": rounds,
        "load_ms": _ms(statistics.median(load)),
        "analyzers_ms": {name: _ms(statistics.median(times)) for name, times in per.items()},
        "default_analyzers": default,
        "default_median_ms": _ms(statistics.median(totals)),
        "default_p99_ms": _ms(_quantile(totals, 0.99)),
    }


async def one_worker_scan(folder: Path, rounds: int) -> dict[str, Any]:
    """Time whole scans of a skill by an engine whose sandbox pool has one warm worker."""
    from scanner.core.scan import ScanOptions
    from scanner.engine import Engine
    from scanner.settings import Settings

    options = ScanOptions()
    times: list[float] = []
    async with Engine(Settings(pool_size=1)) as engine:
        for _ in range(WARM_UP_ROUNDS):
            await engine.scan_directory(folder, options)
        results = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            results.append(await engine.scan_directory(folder, options))
            times.append(time.perf_counter() - t0)
    return {
        "rounds": rounds,
        "median_ms": _ms(statistics.median(times)),
        "p99_ms": _ms(_quantile(times, 0.99)),
        "findings": results[-1].findings_count,
        "failed_analyzers": sorted({r.analyzer for res in results for r in res.analyzers_failed}),
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


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
