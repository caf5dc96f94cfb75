"""Command line: `skill-scanner scan|scan-all|serve` and `skill-scanner-api`.

Exit codes: 0 every skill passed, 1 a skill failed its policy, 2 bad input,
3 internal error or an incomplete scan (an analyzer failed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import __version__

if TYPE_CHECKING:
    from scanner.core.models import ScanResult
    from scanner.core.scan import ScanOptions

EXIT_OK, EXIT_UNSAFE, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

logger = logging.getLogger(__name__)

_MISSING = "; not included in this version yet, so the flag is refused (exit 2)"
OPTIONAL_ANALYZER_HELP = {
    "use-behavioral": "also run the behavioral analyzer: follow data through the skill's "
    "Python, shell and JavaScript code (secrets sent to the network, input reaching a shell "
    "or eval); runs locally, needs no key, makes a scan slower",
    "use-llm": "ask an LLM to review the skill; needs SKILL_SCANNER_LLM_API_KEY and "
    "SKILL_SCANNER_LLM_MODEL (SKILL_SCANNER_LLM_BASE_URL for another endpoint)" + _MISSING,
    "use-virustotal": "look up the hashes of the skill's files on VirusTotal; needs "
    "VIRUSTOTAL_API_KEY" + _MISSING,
    "use-aidefense": "send the skill's text to Cisco AI Defense; needs AI_DEFENSE_API_KEY "
    "and AI_DEFENSE_API_URL" + _MISSING,
    "enable-meta": "let an LLM review the other analyzers' findings; needs the --use-llm "
    "settings" + _MISSING,
}


def _add_scan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format"
    )
    parser.add_argument(
        "--policy",
        default="balanced",
        help="strict, balanced, permissive, or a path to a policy YAML",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="accept a missing or broken SKILL.md frontmatter: report it at LOW instead of "
        "MEDIUM and scan the skill even under a policy that rejects it (attack findings are "
        "never lowered)",
    )
    for flag, text in OPTIONAL_ANALYZER_HELP.items():
        parser.add_argument(f"--{flag}", action="store_true", help=text)


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--reload", action="store_true", help="restart on code changes (dev only)")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of `skill-scanner`."""
    parser = argparse.ArgumentParser(prog="skill-scanner", description="Scan AI agent skills.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="scan one skill folder")
    scan.add_argument("path", type=Path, help="the skill folder")
    _add_scan_options(scan)
    scan_all = sub.add_parser("scan-all", help="scan every skill folder under a folder")
    scan_all.add_argument("path", type=Path, help="a folder of skill folders")
    scan_all.add_argument("--recursive", action="store_true", help="find skills at any depth")
    _add_scan_options(scan_all)
    serve = sub.add_parser("serve", help="run the HTTP API")
    _add_server_options(serve)
    return parser


def _options(args: argparse.Namespace) -> ScanOptions:
    from scanner.core.scan import ScanOptions

    return ScanOptions(
        policy=args.policy,
        lenient=args.lenient,
        use_behavioral=args.use_behavioral,
        use_llm=args.use_llm,
        use_virustotal=args.use_virustotal,
        use_aidefense=args.use_aidefense,
        enable_meta=args.enable_meta,
    )


def _folders(args: argparse.Namespace) -> list[Path]:
    from scanner.batch.runner import discover_skills
    from scanner.core.errors import InvalidPackageError

    root = Path(os.path.realpath(args.path))
    if not root.is_dir():
        raise InvalidPackageError(f"{args.path} is not a folder")
    if args.command == "scan":
        return [root]
    found = discover_skills(root, recursive=args.recursive, limit=100_000)
    if not found:
        hint = "" if args.recursive else " (add --recursive to search deeper)"
        raise InvalidPackageError(f"no skill folders (holding a SKILL.md) under {args.path}{hint}")
    return found


async def _scan(args: argparse.Namespace, folders: list[Path]) -> int:
    from scanner.engine import Engine
    from scanner.report.table import render
    from scanner.settings import Settings

    options = _options(args)
    settings = Settings()
    pool_size = min(settings.pool_size, 4 if len(folders) > 1 else 2)
    engine = Engine(settings.model_copy(update={"pool_size": pool_size}))
    planned = engine.plan(options)
    gate = asyncio.Semaphore(pool_size * 2)

    async def one(folder: Path) -> ScanResult:
        async with gate:
            return await engine.scan_directory(folder, options, label=str(folder), planned=planned)

    async with engine:
        results = await asyncio.gather(*(one(folder) for folder in folders))
    if args.format == "json":
        payload = [r.model_dump(mode="json") for r in results]
        print(json.dumps(payload[0] if args.command == "scan" else payload, indent=2))
    else:
        print("\n\n".join(render(r) for r in results))
    if any(r.analyzers_failed for r in results):
        return EXIT_INTERNAL
    return EXIT_OK if all(r.is_safe for r in results) else EXIT_UNSAFE


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    from scanner import logs
    from scanner.core.errors import ScannerError

    if args.command == "serve":
        return _serve(args)
    # NOTE: the fork server loads the analyzers while this process imports the engine.
    from sandbox.forkserver import prestart

    prestart()
    logs.configure(json_lines=False, level=logging.WARNING)
    try:
        return asyncio.run(_scan(args, _folders(args)))
    except ScannerError as exc:
        print(f"skill-scanner: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception:
        logger.exception("scan failed")
        return EXIT_INTERNAL


def _serve(args: argparse.Namespace) -> int:
    if not args.reload:
        # NOTE: the fork server loads the analyzers while this process imports the server.
        from sandbox.forkserver import prestart

        prestart()
    from scanner import logs
    from scanner.core.errors import ScannerError
    from scanner.server.app import run_server

    logs.configure(json_lines=True)
    try:
        run_server(args.host, args.port, args.reload)
    except ScannerError as exc:
        print(f"skill-scanner: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def api_main(argv: list[str] | None = None) -> int:
    """Run `skill-scanner-api [--host] [--port] [--reload]`."""
    parser = argparse.ArgumentParser(prog="skill-scanner-api", description="Run the HTTP API.")
    _add_server_options(parser)
    return _serve(parser.parse_args(argv))
