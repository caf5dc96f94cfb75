"""The measurements: each takes the prepared inputs and the targets and returns a dict."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.perf import gen
from benchmarks.perf.client import Sample, Target, oversized_upload
from benchmarks.perf.procs import MemorySampler


@dataclass(frozen=True)
class Plan:
    """How much each measurement does: the full run, or a short one (`--quick`)."""

    quick: bool
    large: gen.SkillShape
    scan_rounds: dict[str, int]
    upload_rounds: dict[str, int]
    batch_sizes: tuple[int, ...]
    compare_batch_sizes: tuple[int, ...]
    concurrency: tuple[int, ...]
    uploads_per_client: int
    engine_mib: tuple[int, ...]
    warm_rounds: int
    cli_runs: int
    big_upload_bytes: int
    scenario_budget_s: float


# NOTE: inputs the comparison server is not sent: one request would take minutes.
COMPARE_SKIPS = frozenset({"large", "20MB-text"})

FULL = Plan(
    quick=False,
    large=gen.LARGE,
    scan_rounds={"small": 100, "typical": 50, "medium": 20, "large": 2},
    upload_rounds={"1MB": 20, "20MB": 6, "20MB-text": 1},
    batch_sizes=(100, 300, 1000),
    compare_batch_sizes=(100,),
    concurrency=(8, 32),
    uploads_per_client=2,
    engine_mib=(1, 4, 16),
    warm_rounds=100,
    cli_runs=7,
    big_upload_bytes=1024**3,
    scenario_budget_s=45.0,
)
QUICK = Plan(
    quick=True,
    large=gen.SkillShape("large", 200, 2 * gen.MIB),
    scan_rounds={"small": 20, "typical": 10, "medium": 3, "large": 1},
    upload_rounds={"1MB": 5, "20MB": 2, "20MB-text": 1},
    batch_sizes=(50, 100, 200),
    compare_batch_sizes=(50,),
    concurrency=(8, 32),
    uploads_per_client=1,
    engine_mib=(1, 2),
    warm_rounds=20,
    cli_runs=3,
    big_upload_bytes=1024**3,
    scenario_budget_s=15.0,
)


def pct(values: list[float], q: float) -> float | None:
    """Return the q-quantile (nearest rank) of values, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Return count, median, p99, statuses and what the server reported."""
    ok = [s.seconds for s in samples if s.status == 200]
    server = [s.server_seconds for s in samples if s.server_seconds is not None]
    statuses = Counter(str(s.status) if s.status is not None else s.error for s in samples)
    verdicts = Counter("safe" if s.is_safe else "unsafe" for s in samples if s.is_safe is not None)
    findings = sorted({s.findings for s in samples if s.findings is not None})
    return {
        "n": len(samples),
        "median_s": _r(statistics.median(ok)) if ok else None,
        "p99_s": _r(pct(ok, 0.99)),
        "max_s": _r(max(ok)) if ok else None,
        "server_median_s": _r(statistics.median(server)) if server else None,
        "statuses": dict(statuses),
        "verdicts": dict(verdicts),
        "findings_counts": findings[:5],
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def ratio(ours: dict[str, Any], other: dict[str, Any] | None) -> float | None:
    """Return other's median over ours: how many times faster ours is."""
    if not other or not ours.get("median_s") or not other.get("median_s"):
        return None
    return round(other["median_s"] / ours["median_s"], 1)


async def alternate(
    targets: list[Target],
    call: Callable[[Target], Awaitable[Sample]],
    rounds: int,
    budget_s: float,
    *,
    warm_up: bool = False,
) -> dict[str, list[Sample]]:
    """Send one request to each target per round, swapping the order every round.

    With `warm_up`, one unmeasured request per target goes first. Rounds stop early
    once `budget_s` has passed (after at least 2), so a slow server bounds the run.
    """
    if warm_up:
        for target in targets:
            await call(target)
    samples: dict[str, list[Sample]] = {t.name: [] for t in targets}
    t0 = time.perf_counter()
    for index in range(rounds):
        order = targets if index % 2 == 0 else list(reversed(targets))
        for target in order:
            samples[target.name].append(await call(target))
        if index >= 1 and time.perf_counter() - t0 > budget_s:
            break
    return samples


def _for(targets: list[Target], label: str) -> list[Target]:
    return [t for t in targets if t.name == "ours" or label not in COMPARE_SKIPS]


def compared(samples: dict[str, list[Sample]], extra: dict[str, Any]) -> dict[str, Any]:
    """Summarize each target's samples and the speed ratio of ours over the other."""
    out: dict[str, Any] = dict(extra)
    for name, items in samples.items():
        out[name] = summarize(items)
    out["ratio"] = ratio(out["ours"], out.get("compare"))
    return out


async def scan_latency(
    targets: list[Target], skills: dict[str, tuple[Path, int, int]], plan: Plan
) -> dict[str, Any]:
    """/scan latency of the small, medium and large skill."""
    out = {}
    for label, (folder, files, size) in skills.items():
        samples = await alternate(
            _for(targets, label),
            lambda t, f=str(folder): t.scan(f),
            plan.scan_rounds[label],
            plan.scenario_budget_s,
            warm_up=label == "small",
        )
        out[label] = compared(samples, {"files": files, "bytes": size})
    return out


async def upload_latency(
    targets: list[Target], archives: dict[str, bytes], plan: Plan
) -> dict[str, Any]:
    """/scan-upload latency of the 1 MB and 20 MB archive."""
    out = {}
    for label, data in archives.items():
        samples = await alternate(
            _for(targets, label),
            lambda t, d=data: t.upload(d),
            plan.upload_rounds[label],
            plan.scenario_budget_s,
            warm_up=label == "1MB",
        )
        out[label] = compared(samples, {"archive_bytes": len(data)})
    return out


async def oversized(targets: list[Target], plan: Plan) -> dict[str, Any]:
    """Bytes sent before a 1 GB upload is refused, with and without Content-Length."""
    out: dict[str, Any] = {"upload_bytes": plan.big_upload_bytes}
    for target in targets if not plan.quick else targets[:1]:
        out[target.name] = [
            await oversized_upload(target, plan.big_upload_bytes, declare_length=False),
            await oversized_upload(target, plan.big_upload_bytes, declare_length=True),
        ]
    return out


async def batch_throughput(
    targets: list[Target], batches: dict[int, Path], plan: Plan
) -> list[dict[str, Any]]:
    """Skills per second of /scan-batch at several batch sizes, with peak memory."""
    rows = []
    for size, folder in sorted(batches.items()):
        row: dict[str, Any] = {"skills": size}
        for target in targets:
            if target.name != "ours" and size not in plan.compare_batch_sizes:
                continue
            with _memory(target) as sampler:
                result = await target.batch(str(folder))
            result["skills_per_s"] = round(result["skills"] / result["seconds"], 1)
            result["memory"] = sampler.report() if sampler else None
            row[target.name] = result
        rows.append(row)
    return rows


class NoSampler:
    """Stands in for a memory sampler when the server's pid is unknown."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _memory(target: Target) -> MemorySampler | NoSampler:
    return MemorySampler(target.pid) if target.pid else NoSampler()


async def concurrent_uploads(
    targets: list[Target], archive: bytes, clients: int, per_client: int
) -> dict[str, Any]:
    """Upload `archive` from `clients` concurrent clients; /health probed meanwhile."""
    out: dict[str, Any] = {"clients": clients, "archive_bytes": len(archive)}
    for target in targets:
        # NOTE: the comparison server takes seconds per upload: one each keeps the run short.
        rounds = per_client if target.name == "ours" else 1
        out[target.name] = await _concurrent_one(target, archive, clients, rounds)
    return out


async def _concurrent_one(
    target: Target, archive: bytes, clients: int, per_client: int
) -> dict[str, Any]:
    samples: list[Sample] = []
    health: list[Sample] = []
    done = asyncio.Event()

    async def client() -> None:
        for _ in range(per_client):
            sample = await target.upload(archive)
            samples.append(sample)

    async def probe() -> None:
        while not done.is_set():
            health.append(await target.health())
            await asyncio.sleep(0.05)

    with _memory(target) as sampler:
        prober = asyncio.ensure_future(probe())
        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        seconds = time.perf_counter() - t0
        done.set()
        await prober
    result = summarize(samples)
    result["seconds"] = round(seconds, 3)
    result["uploads_per_s"] = round(len(samples) / seconds, 2)
    result["mb_per_s"] = round(len(samples) * len(archive) / seconds / 1e6, 1)
    result["health"] = summarize(health)
    result["memory"] = sampler.report() if sampler else None
    return result
