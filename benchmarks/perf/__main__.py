"""Performance benchmark: latency, throughput, memory and start-up, side by side.

Usage:
    python -m benchmarks.perf [--quick] [--install-compare] [--json OUT] [--markdown OUT]
                              [--into docs/performance.md]
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
    parser.add_argument("--quick", action="store_true", help="a short run (a few minutes)")
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
    parser.add_argument("--markdown", type=Path, help="write the results as Markdown here")
    parser.add_argument(
        "--into",
        type=Path,
        help="replace the results section of this Markdown file (docs/performance.md)",
    )
    parser.add_argument("--render", type=Path, help="print the Markdown of a results JSON")
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- inputs


def prepare(work: Path, plan: Plan) -> dict[str, Any]:
    """Generate every input once, deterministically."""
    skills = {}
    for shape in (gen.SMALL, gen.TYPICAL, gen.MEDIUM, plan.large):
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


class ServerStartError(Exception):
    """A server under test exited or did not answer /health in time."""


class CompareUnavailableError(Exception):
    """The comparison package could not be installed, started or used."""


async def wait_ready(target: Target, proc: subprocess.Popen[bytes] | None) -> float:
    """Wait for /health to answer 200; return the seconds it took."""
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.perf_counter() - t0 < START_LIMIT_S:
            if proc is not None and proc.poll() is not None:
                raise ServerStartError(f"{target.name} server exited with {proc.returncode}")
            try:
                async with session.get(target.base_url + "/health") as resp:
                    if resp.status == 200:
                        body = await resp.json()
                        target.version = str(body.get("version"))
                        return time.perf_counter() - t0
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.02)
    raise ServerStartError(f"{target.name} server: /health did not answer in {START_LIMIT_S:.0f} s")


def start_ours(work: Path) -> tuple[Target, subprocess.Popen[bytes]]:
    port = free_port()
    env = dict(os.environ)
    env["SKILL_SCANNER_ALLOWED_ROOTS"] = str(work)
    env["SKILL_SCANNER_TEMP_DIR"] = str(work / "tmp-ours")
    cmd = [sys.executable, "-m", "scanner", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start(cmd, env, work / "ours.log", REPO)
    return Target("ours", f"http://127.0.0.1:{port}", pid=proc.pid), proc


def install_compare(venv: Path) -> Path:
    """Create the comparison virtual environment and install the package there (once).

    Raises:
        CompareUnavailableError: the venv or the install failed; pip's output is kept
            in `compare-install.log` next to the venv.
    """
    exe = venv / "bin" / "skill-scanner-api"
    if exe.exists():
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / "compare-install.log"
    print(f"installing {COMPARE_SPEC} into {venv} (once) ...", file=sys.stderr)
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", COMPARE_SPEC],
    )
    with log.open("wb") as out:
        for cmd in steps:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
            if code.returncode != 0:
                raise CompareUnavailableError(
                    f"`{' '.join(cmd[1:])}` failed with exit code {code.returncode}; "
                    f"its output is in {log}"
                )
    if not exe.exists():
        raise CompareUnavailableError(f"{COMPARE_SPEC} installed no `{exe.name}` (see {log})")
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


async def start_targets(
    args: argparse.Namespace, work: Path, probe: Path, report: dict[str, Any]
) -> tuple[list[Target], list[subprocess.Popen[bytes]]]:
    """Start (or reach) our server, then the comparison one if asked; return both."""
    servers: list[subprocess.Popen[bytes]] = []
    if args.base_url:
        check_loopback(args.base_url)
        ours = Target("ours", args.base_url.rstrip("/"), pid=args.server_pid)
    else:
        ours, proc = start_ours(work)
        servers.append(proc)
    try:
        await _ready(ours, servers[0] if servers else None)
    except ServerStartError as exc:
        for proc in servers:
            procs.stop(proc)
        raise SystemExit(f"{exc}; last lines of its log:\n{_tail(work / 'ours.log')}") from exc
    targets = [ours]
    if args.compare_url:
        check_loopback(args.compare_url)
        other = Target("compare", args.compare_url.rstrip("/"), pid=args.compare_pid)
        try:
            await _ready(other, None)
        except ServerStartError as exc:
            raise SystemExit(str(exc)) from exc
        targets.append(other)
    elif args.install_compare:
        started = await _start_compare_or_say_why(work, args.compare_venv, probe, report)
        if started is not None:
            targets.append(started[0])
            servers.append(started[1])
    return targets, servers


async def _ready(target: Target, proc: subprocess.Popen[bytes] | None) -> None:
    seconds = await wait_ready(target, proc)
    if proc is not None:
        target.startup_seconds = round(seconds, 3)
    await target.open()


async def _start_compare_or_say_why(
    work: Path, venv: Path, probe: Path, report: dict[str, Any]
) -> tuple[Target, subprocess.Popen[bytes]] | None:
    """Start the comparison server and check it scans; on failure record why, go on."""
    print("starting the comparison server ...", file=sys.stderr)
    target, proc = None, None
    try:
        target, proc = start_compare(work, venv)
        await _ready(target, proc)
        await _check_scans(target, probe)
    except (CompareUnavailableError, ServerStartError) as exc:
        reason = f"{COMPARE_SPEC}: {exc}"
        if target is not None:
            await target.close()
        if proc is not None:
            procs.stop(proc)
            reason += f"; last lines of its log: {_tail(work / 'compare.log')}"
        report["compare_unavailable"] = reason
        print(f"COMPARISON NOT RUN: {reason}", file=sys.stderr)
        return None
    return target, proc


async def _check_scans(target: Target, probe: Path) -> None:
    sample = await target.scan(str(probe))
    if sample.status != 200:
        raise CompareUnavailableError(
            f"it answered {sample.status or sample.error} to /scan of the small skill"
        )


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


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
    print("one skill in a warm worker ...", file=sys.stderr)
    warm = {label: inputs["skills"][label][0] for label in ("small", "typical")}
    report["warm"] = await local.warm_analysis(warm, plan.warm_rounds)
    print("CLI ...", file=sys.stderr)
    report["cli"] = local.cli_wall(inputs["skills"]["small"][0], plan.cli_runs)
    targets, servers = await start_targets(args, work, inputs["skills"]["small"][0], report)
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
        if args.into and not render.has_section(args.into):
            raise SystemExit(f"{args.into}: no {render.START} ... {render.END} section to replace")
        text = render.markdown(json.loads(args.render.read_text()))
        if args.into:
            render.replace_section(args.into, text)
        else:
            print(text)
        return 0
    if args.into and not render.has_section(args.into):
        raise SystemExit(f"{args.into}: no {render.START} ... {render.END} section to replace")
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
    text = render.markdown(report)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(text)
    if args.into:
        render.replace_section(args.into, text)
    if "compare_unavailable" in report:
        print(f"COMPARISON NOT RUN: {report['compare_unavailable']}", file=sys.stderr)
    return 0 if all(c["pass"] for c in report["checks"] if c["pass"] is not None) else 1


if __name__ == "__main__":
    raise SystemExit(main())
