"""Detection accuracy over labelled skills: recall and false positives, per category.

Usage: python -m benchmarks.accuracy [ROOT] [--policy balanced] [--use-behavioral] [--json OUT]

Every folder under ROOT holding an `_expected.json` is a sample. It is copied
without that file (which holds the answer) and scanned through the engine and
its sandbox. Two operating points are reported: "unsafe" (is_safe false) and
"medium+" (any finding at MEDIUM or above). `--use-behavioral` turns the dataflow
analyzer on and also prints its own time per skill (median and max, warm: each
sample analysed once before timing, in this process, without the sandbox).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from scanner.core.models import ScanResult, Severity
from scanner.core.scan import ScanOptions
from scanner.engine import Engine
from scanner.settings import Settings

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def load_samples(root: Path) -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text())) for p in sorted(root.rglob("_expected.json"))]


async def scan_all(samples: list[tuple[Path, dict]], options: ScanOptions) -> dict[str, ScanResult]:
    results: dict[str, ScanResult] = {}
    with tempfile.TemporaryDirectory(prefix="accuracy-") as tmp:
        async with Engine(Settings()) as engine:
            gate = asyncio.Semaphore(8)

            async def one(folder: Path) -> None:
                dest = Path(tmp) / folder.name
                shutil.copytree(
                    folder, dest, ignore=shutil.ignore_patterns("_expected.json"), symlinks=True
                )
                async with gate:
                    results[str(folder)] = await engine.scan_directory(dest, options)

            await asyncio.gather(*(one(folder) for folder, _ in samples))
    return results


def tally(samples: list[tuple[Path, dict]], results: dict[str, ScanResult]) -> dict:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for folder, truth in samples:
        result = results[str(folder)]
        unsafe = not result.is_safe
        medium = any(f.severity.rank >= Severity.MEDIUM.rank for f in result.findings)
        label = truth["label"]
        cats = truth.get("categories") or ["(none)"]
        for key in ["overall", *(f"{label}:{c}" for c in cats)]:
            row = rows[f"{label}|{key}"]
            row["n"] += 1
            row["unsafe"] += unsafe
            row["medium"] += medium
    return rows


def render(rows: dict, seconds: float, count: int) -> str:
    lines = [f"{'set':10} {'category':42} {'n':>4} {'unsafe':>8} {'medium+':>8}"]
    for key in sorted(rows, key=lambda k: (k.split("|")[0], k.split("|")[1] != "overall", k)):
        label, cat = key.split("|")
        row = rows[key]
        name = "ALL" if cat == "overall" else cat.split(":", 1)[1]
        what = "recall" if label == "malicious" else "FP"
        lines.append(
            f"{label:10} {name:42} {row['n']:>4} {row['unsafe'] / row['n']:>8.1%} "
            f"{row['medium'] / row['n']:>8.1%}  ({what})"
        )
    lines.append(f"\n{count} samples in {seconds:.2f} s")
    return "\n".join(lines)


def behavioral_times(samples: list[tuple[Path, dict]], rounds: int = 5) -> list[float]:
    """Return the behavioral analyzer's best time per sample in seconds, after a warm-up."""
    from scanner.analyzers import registry
    from scanner.intake.loader import load_package

    analyzer = registry.instance("behavioral")
    times = []
    with tempfile.TemporaryDirectory(prefix="accuracy-time-") as tmp:
        for folder, _ in samples:
            dest = Path(tmp) / folder.name
            shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("_expected.json"))
            package = load_package(dest, settings=Settings())
            analyzer.analyze(package)
            best = float("inf")
            for _ in range(rounds):
                t0 = time.perf_counter()
                analyzer.analyze(package)
                best = min(best, time.perf_counter() - t0)
            times.append(best)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--policy", default="balanced")
    parser.add_argument("--use-behavioral", action="store_true", help="run the dataflow analyzer")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    args = parser.parse_args()
    samples = load_samples(args.root)
    options = ScanOptions(policy=args.policy, use_behavioral=args.use_behavioral)
    t0 = time.perf_counter()
    results = asyncio.run(scan_all(samples, options))
    seconds = time.perf_counter() - t0
    rows = tally(samples, results)
    print(render(rows, seconds, len(samples)))
    if args.use_behavioral:
        times = sorted(behavioral_times(samples))
        median = statistics.median(times)
        print(f"behavioral per skill: median {median * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps({"seconds": seconds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
