"""The async scan driver shared by the server, the CLI and library callers.

`Engine` owns the sandbox pool. A scan loads the folder into a `SkillPackage`
(in a thread), runs each chosen analyzer as its own sandbox task, and hands the
findings to the pure verdict in `scanner.core.scan`.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sandbox.pool import SandboxPool, SandboxTaskError
from scanner.analyzers import registry
from scanner.core.errors import (
    InvalidManifestError,
    PathNotAllowedError,
    PolicyError,
    ValidationError,
)
from scanner.core.models import AnalyzerRun, Finding, ScanResult, SkillPackage
from scanner.core.policy import (
    PRESETS,
    InvalidManifestAction,
    Policy,
    check_rule_ids,
    load_policy_file,
    preset,
)
from scanner.core.scan import OPTIONAL_FLAGS, ScanOptions, ScanOutcome, select_analyzers, verdict
from scanner.intake.loader import load_package
from scanner.logs import scan_id_var
from scanner.settings import Settings

# A scan's resolved policy and the analyzers it runs.
Plan = tuple[Policy, list[str]]

logger = logging.getLogger(__name__)

_ADMITTED: ContextVar[bool] = ContextVar("admitted", default=False)


def new_scan_id() -> str:
    """Return a fresh, unguessable scan id."""
    return str(uuid.uuid4())


def import_plugins(modules: tuple[str, ...]) -> None:
    """Import modules that register extra analyzers (also done in every worker)."""
    importlib.import_module("scanner.analyzers")
    for module in modules:
        importlib.import_module(module)


@functools.cache
def known_rule_ids(analyzers: tuple[str, ...]) -> frozenset[str]:
    """Return the rule ids policies may name, once per set of registered analyzers."""
    return registry.rule_ids()


def default_analyzers() -> list[str]:
    """Return the analyzers every scan runs unless the policy disables them."""
    return [
        name
        for name in registry.names()
        if registry.analyzer_class(name).activation.kind == "default"
    ]


def confine(raw: str, *, field: str, allowed_roots: tuple[Path, ...]) -> Path:
    """Resolve a client-given path and check it lies under an allowed root.

    The check runs on the resolved path (links followed) before anything is
    opened, and its error never says whether the path exists.
    """
    if "\x00" in raw:
        raise ValidationError(f"{field} must not contain NUL characters")
    path = Path(raw)
    if not path.is_absolute():
        raise ValidationError(f"{field} must be an absolute path")
    resolved = Path(os.path.realpath(path))
    if allowed_roots and not any(resolved.is_relative_to(root) for root in allowed_roots):
        raise PathNotAllowedError(
            f"{field} is outside the folders this server may read "
            "(set by SKILL_SCANNER_ALLOWED_ROOTS)"
        )
    return resolved


class Engine:
    """Scans skills with a sandbox pool; use as an async context manager."""

    def __init__(self, settings: Settings, pool: SandboxPool | None = None) -> None:
        self.settings = settings
        import_plugins(settings.plugin_modules)
        self._owns_pool = pool is None
        self._slots = asyncio.Semaphore(settings.max_active_scans or 2 * settings.pool_size)
        self.pool = pool or SandboxPool(
            settings.pool_size,
            task_timeout=settings.analyzer_timeout_seconds,
            memory_limit_mb=settings.worker_memory_mb,
            plugin_modules=settings.plugin_modules,
        )

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the sandbox pool when this engine owns it.

        The rule ids policies are checked against are gathered here too, off the event
        loop (reading the rule packs takes tens of milliseconds), not by the first scan.
        """
        if self._owns_pool:
            await self.pool.start()
        await asyncio.to_thread(known_rule_ids, tuple(registry.names()))

    async def close(self) -> None:
        """Stop the sandbox pool when this engine owns it."""
        if self._owns_pool:
            await self.pool.close()

    def resolve_policy(self, spec: str) -> Policy:
        """Return a preset by name, or a policy file confined to the allowed roots."""
        if spec in PRESETS:
            policy = preset(spec)
        elif "/" not in spec and not spec.endswith((".yaml", ".yml")):
            raise PolicyError(
                f"unknown policy {spec!r}: use {', '.join(PRESETS)} or an absolute path "
                "to a policy YAML file"
            )
        else:
            path = confine(spec, field="policy", allowed_roots=self.settings.allowed_roots)
            policy = load_policy_file(path)
        for key in ("disabled_analyzers", "enabled_analyzers"):
            unknown = [name for name in getattr(policy, key) if name not in registry.names()]
            if unknown:
                raise PolicyError(f"policy key '{key}': unknown analyzer {unknown[0]!r}")
        check_rule_ids(policy, known_rule_ids(tuple(registry.names())))
        return policy

    def plan(self, options: ScanOptions) -> Plan:
        """Validate options up front: the policy and the analyzers a scan will run."""
        policy = self.resolve_policy(options.policy)
        chosen = select_analyzers(options, policy, default_analyzers(), set(registry.names()))
        return policy, chosen

    async def aplan(self, options: ScanOptions) -> Plan:
        """Return `plan(options)`; a policy file is read and checked off the event loop."""
        if options.policy in PRESETS:
            return self.plan(options)
        return await asyncio.to_thread(self.plan, options)

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one of the engine's active-scan slots (re-entrant within one task).

        Only `max_active_scans` scans hold a loaded package at once; the others wait
        here, before they extract or load anything. The workers could not run them
        sooner anyway, and each loaded package (with its packed copy) holds the
        skill's bytes in memory, so this bounds the memory of many concurrent large
        uploads, and the threads that load them compete less with the event loop.
        """
        if _ADMITTED.get():
            yield
            return
        async with self._slots:
            token = _ADMITTED.set(True)
            try:
                yield
            finally:
                _ADMITTED.reset(token)

    async def scan_directory(
        self,
        root: Path,
        options: ScanOptions,
        *,
        label: str | None = None,
        scan_id: str | None = None,
        planned: Plan | None = None,
    ) -> ScanResult:
        """Scan one skill folder that the caller has already confined.

        `planned` is what `plan(options)` returned, for callers that validated the options
        already (an upload before extracting it, a batch once for all its skills).
        """
        policy, chosen = planned or await self.aplan(options)
        async with self.admit():
            return await self._scan(root, options, policy, chosen, label, scan_id)

    async def _scan(
        self,
        root: Path,
        options: ScanOptions,
        policy: Policy,
        chosen: list[str],
        label: str | None,
        scan_id: str | None,
    ) -> ScanResult:
        scan_id = scan_id or new_scan_id()
        token = scan_id_var.set(scan_id)
        try:
            started, t0 = datetime.now(UTC), time.perf_counter()
            package = await asyncio.to_thread(
                load_package, root, settings=self.settings, lenient=options.lenient
            )
            self._check_manifest(package, policy, options)
            findings, runs = await self._run_analyzers(package, chosen)
            outcome = ScanOutcome(
                scan_id=scan_id,
                skill_name=package.name,
                skill_directory=label,
                findings=findings,
                runs=runs,
                started=started,
                duration_seconds=time.perf_counter() - t0,
                incomplete_inputs=bool(package.skipped) or any(f.truncated for f in package.files),
                lenient=options.lenient,
            )
            result = verdict(outcome, policy)
            logger.info(
                "scan finished",
                extra={
                    "findings": result.findings_count,
                    "status": "safe" if result.is_safe else "unsafe",
                    "duration_ms": round(outcome.duration_seconds * 1000, 1),
                },
            )
            return result
        finally:
            scan_id_var.reset(token)

    @staticmethod
    def _check_manifest(package: SkillPackage, policy: Policy, options: ScanOptions) -> None:
        if options.lenient or policy.invalid_manifest is not InvalidManifestAction.REJECT:
            return
        if package.manifest is None:
            raise InvalidManifestError(
                f"the skill has no SKILL.md; policy '{policy.name}' rejects such skills "
                "(set lenient to scan it anyway)"
            )
        if package.manifest.issues:
            issue = package.manifest.issues[0]
            where = f" (line {issue.line})" if issue.line else ""
            raise InvalidManifestError(
                f"SKILL.md frontmatter: {issue.message}{where}; policy '{policy.name}' rejects "
                "skills with an invalid manifest (set lenient to scan it anyway)"
            )

    async def _run_analyzers(
        self, package: SkillPackage, chosen: list[str]
    ) -> tuple[list[Finding], list[AnalyzerRun]]:
        payload = await asyncio.to_thread(SandboxPool.pack, package)
        results = await asyncio.gather(*(self._run_one(name, payload) for name in chosen))
        findings = [finding for found, _ in results for finding in found]
        return findings, [run for _, run in results]

    async def _run_one(self, name: str, payload: bytes) -> tuple[list[Finding], AnalyzerRun]:
        t0 = time.perf_counter()
        try:
            found = await self.pool.run(name, payload)
        except SandboxTaskError as exc:
            elapsed = (time.perf_counter() - t0) * 1000
            logger.warning("analyzer failed", extra={"analyzer": name, "code": exc.code})
            run = AnalyzerRun(
                analyzer=name, status="failed", code=exc.code, message=str(exc), duration_ms=elapsed
            )
            return [], run
        elapsed = (time.perf_counter() - t0) * 1000
        run = AnalyzerRun(
            analyzer=name, status="ok", duration_ms=round(elapsed, 2), findings=len(found)
        )
        return found, run


def unavailable_flags() -> dict[str, str]:
    """Return request flags whose analyzer is not registered in this build."""
    return {flag: name for flag, name in OPTIONAL_FLAGS.items() if name not in registry.names()}
