"""Performance benchmark: latency, throughput, memory and start-up, side by side.

Usage:
    python -m benchmarks.perf [--quick] [--json OUT] [--install-compare]
    python -m benchmarks.perf --base-url URL [--server-pid PID] [--compare-url URL]
    python -m benchmarks.perf --render results.json [--into docs/performance.md]

See docs/performance.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load import check_loopback, free_port
from benchmarks.perf import gen, local, procs, render, scenarios
from benchmarks.perf.client import Target
from benchmarks.perf.scenarios import FULL, QUICK, Plan

REPO = Path(__file__).resolve().parents[2]
COMPARE_SPEC = "cisco-ai-skill-scanner==2.3.2"
COMPARE_VENV = REPO / ".bench" / "compare-venv"
START_LIMIT_S = 120.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under 2 minutes)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--base-url", help="measure this server instead of starting one")
    parser.add_argument("--server-pid", type=int, help="pid of --base-url's server (memory)")
    parser.add_argument("--compare-url", help="a second server of the same API, measured too")
    parser.add_argument("--compare-pid", type=int, help="pid of --compare-url's server")
    parser.add_argument(
        "--install-compare",
        action="store_true",
        help=f"pip install {COMPARE_SPEC} into {COMPARE_VENV.relative_to(REPO)} and start it",
    )
    parser.add_argument("--compare-venv", type=Path, default=COMPARE_VENV)
    parser.add_argument("--work", type=Path, help="folder for generated inputs (default: temp)")
    parser.add_argument("--render", type=Path, help="print the Markdown of a results JSON")
    parser.add_argument("--into", type=Path, help="with --render: replace the results section")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- inputs


def prepare(work: Path, plan: Plan) -> dict[str, Any]:
    """Generate every input once, deterministically."""
    skills = {}
    for shape in (gen.SMALL, gen.MEDIUM, plan.large):
        folder = gen.write_skill(work / "skills" / shape.label, shape, seed=len(shape.label))
        files = [p for p in folder.rglob("*") if p.is_file()]
        skills[shape.label] = (folder, len(files), sum(p.stat().st_size for p in files))
    archives = {}
    for label, size in (("1MB", gen.MIB), ("20MB", 20 * gen.MIB)):
        folder = gen.write_asset_skill(work / "uploads" / label, size, seed=size)
        dest = work / f"{label}.zip"
        gen.zip_skill(folder, dest, deflate=True)
        archives[label] = dest.read_bytes()
    gen.zip_skill(skills["large"][0], work / "20MB-text.zip")
    archives["20MB-text"] = (work / "20MB-text.zip").read_bytes()
    batches = {}
    for size in plan.batch_sizes:
        batches[size] = gen.write_batch(work / "batches" / f"b{size}", size, seed=size)
    return {"skills": skills, "archives": archives, "batches": batches}


# --------------------------------------------------------------------------- servers


async def wait_ready(target: Target, proc: subprocess.Popen[bytes] | None) -> float:
    """Wait for /health to answer 200; return the seconds it took."""
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.perf_counter() - t0 < START_LIMIT_S:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"{target.name} server exited with {proc.returncode}")
            try:
                async with session.get(target.base_url + "/health") as resp:
                    if resp.status == 200:
                        body = await resp.json()
                        target.version = str(body.get("version"))
                        return time.perf_counter() - t0
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.02)
    raise SystemExit(f"{target.name} server: /health did not answer in {START_LIMIT_S:.0f} s")


def start_ours(work: Path) -> tuple[Target, subprocess.Popen[bytes]]:
    port = free_port()
    env = dict(os.environ)
    env["SKILL_SCANNER_ALLOWED_ROOTS"] = str(work)
    env["SKILL_SCANNER_TEMP_DIR"] = str(work / "tmp-ours")
    cmd = [sys.executable, "-m", "scanner", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start(cmd, env, work / "ours.log", REPO)
    return Target("ours", f"http://127.0.0.1:{port}", pid=proc.pid), proc


def install_compare(venv: Path) -> Path:
    """Create the comparison virtual environment and install the package there."""
    exe = venv / "bin" / "skill-scanner-api"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", COMPARE_SPEC]
    subprocess.run(pip, check=True)
    return exe


def start_compare(work: Path, venv: Path) -> tuple[Target, subprocess.Popen[bytes]]:
    exe = install_compare(venv)
    port = free_port()
    # NOTE: a clean environment: no LLM, VirusTotal or AI Defense keys, so it runs its
    # static analyzers only; hub libraries told to stay offline.
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(work / "home-compare"),
        "LANG": "C.UTF-8",
        "SKILL_SCANNER_ALLOWED_ROOTS": str(work),
        "TMPDIR": str(work / "tmp-compare"),
        "HF_HUB_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    for key in ("HOME", "TMPDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start(cmd, env, work / "compare.log", work)
    target = Target("compare", f"http://127.0.0.1:{port}", pid=proc.pid)
    target.notes.append(f"{COMPARE_SPEC}, started by the benchmark, static analyzers only")
    return target, proc


# --------------------------------------------------------------------------- run


async def measure(args: argparse.Namespace, plan: Plan, work: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": plan.quick,
        "machine": local.machine(),
    }
    print("generating inputs ...", file=sys.stderr)
    inputs = prepare(work, plan)
    print("static engine in-process ...", file=sys.stderr)
    report["engine"] = local.engine_rate(work, plan.engine_mib)
    print("CLI ...", file=sys.stderr)
    report["cli"] = local.cli_wall(inputs["skills"]["small"][0], plan.cli_runs)
    targets, servers = await start_targets(args, work)
    try:
        report["targets"] = [_describe(t) for t in targets]
        await run_http(report, targets, inputs, plan)
    finally:
        for target in targets:
            await target.close()
        for proc in servers:
            procs.stop(proc)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["checks"] = render.checks(report)
    return report


async def start_targets(
    args: argparse.Namespace, work: Path
) -> tuple[list[Target], list[subprocess.Popen[bytes]]]:
    targets, servers = [], []
    if args.base_url:
        check_loopback(args.base_url)
        targets.append(Target("ours", args.base_url.rstrip("/"), pid=args.server_pid))
    else:
        target, proc = start_ours(work)
        targets.append(target)
        servers.append(proc)
    if args.compare_url:
        check_loopback(args.compare_url)
        targets.append(Target("compare", args.compare_url.rstrip("/"), pid=args.compare_pid))
    elif args.install_compare:
        print("starting the comparison server ...", file=sys.stderr)
        target, proc = start_compare(work, args.compare_venv)
        targets.append(target)
        servers.append(proc)
    for target, proc in zip(targets, [*servers, None, None], strict=False):
        started = proc if proc is not None and proc.pid == target.pid else None
        seconds = await wait_ready(target, started)
        if started is not None:
            target.startup_seconds = round(seconds, 3)
        await target.open()
    return targets, servers


def _describe(target: Target) -> dict[str, Any]:
    return {
        "name": target.name,
        "base_url": target.base_url,
        "version": target.version,
        "startup_s": target.startup_seconds,
        "notes": target.notes,
    }


async def run_http(
    report: dict[str, Any], targets: list[Target], inputs: dict[str, Any], plan: Plan
) -> None:
    ours = targets[0]
    with procs.MemorySampler(ours.pid) if ours.pid else scenarios.NoSampler() as whole:
        print("/scan latency ...", file=sys.stderr)
        report["scan"] = await scenarios.scan_latency(targets, inputs["skills"], plan)
        print("/scan-upload latency ...", file=sys.stderr)
        report["upload"] = await scenarios.upload_latency(targets, inputs["archives"], plan)
        print("oversized upload ...", file=sys.stderr)
        report["oversized"] = await scenarios.oversized(targets, plan)
        print("batch throughput ...", file=sys.stderr)
        report["batch"] = await scenarios.batch_throughput(targets, inputs["batches"], plan)
        print("concurrent uploads ...", file=sys.stderr)
        report["concurrency"] = [
            await scenarios.concurrent_uploads(
                [t for t in targets if t.name == "ours" or clients == plan.concurrency[0]],
                inputs["archives"]["20MB"],
                clients,
                plan.uploads_per_client,
            )
            for clients in plan.concurrency
        ]
    report["memory_whole_run"] = whole.report() if whole else None


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the servers started here are stopped."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _stop_on_sigterm()
    if args.render:
        text = render.markdown(json.loads(args.render.read_text()))
        if args.into:
            render.replace_section(args.into, text)
        else:
            print(text)
        return 0
    plan = QUICK if args.quick else FULL
    work = args.work or Path(tempfile.mkdtemp(prefix="skill-scanner-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        report = asyncio.run(measure(args, plan, work))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    print(render.markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(c["pass"] for c in report["checks"] if c["pass"] is not None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
