"""Run batch jobs: find the skills under a folder and scan them concurrently."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from scanner.batch.store import (
    LIVE,
    BatchJob,
    BatchReport,
    BatchSummary,
    ErrorInfo,
    JobStatus,
    MemoryJobStore,
    SkillFailure,
)
from scanner.core.errors import PackageTooLargeError, ScannerError
from scanner.core.models import ScanResult, Severity
from scanner.core.scan import ScanOptions
from scanner.engine import Engine, Plan, new_scan_id

logger = logging.getLogger(__name__)

MAX_DEPTH = 16


def _has_skill_md(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(
                e.name.lower() == "skill.md" and e.is_file(follow_symlinks=False) for e in entries
            )
    except OSError:
        return False


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def discover_skills(root: Path, *, recursive: bool, limit: int) -> list[Path]:
    """Return skill folders (those holding a SKILL.md) under root, links never followed.

    Without `recursive`, the direct sub-folders are skills; with it, every folder
    holding a SKILL.md at any depth is (a skill's own sub-folders are not searched).
    """
    if _has_skill_md(root):
        return [root]
    if not recursive:
        found = [sub for sub in _subfolders(root) if _has_skill_md(sub)]
    else:
        found = []
        stack = [(root, 0)]
        while stack:
            folder, depth = stack.pop()
            for sub in reversed(_subfolders(folder)):
                if _has_skill_md(sub):
                    found.append(sub)
                elif depth < MAX_DEPTH:
                    stack.append((sub, depth + 1))
        found.sort()
    if len(found) > limit:
        raise PackageTooLargeError(
            f"the folder holds {len(found)} skills; a batch takes at most {limit}"
        )
    return found


def summarize(
    results: list[ScanResult], failures: list[SkillFailure], seconds: float
) -> BatchSummary:
    """Count verdicts and findings over a batch."""
    by_severity: Counter[Severity] = Counter(f.severity for r in results for f in r.findings)
    return BatchSummary(
        total_skills=len(results) + len(failures),
        safe_skills=sum(1 for r in results if r.is_safe),
        unsafe_skills=sum(1 for r in results if not r.is_safe),
        failed_skills=len(failures),
        total_findings=sum(r.findings_count for r in results),
        findings_by_severity={sev: by_severity.get(sev, 0) for sev in Severity},
        duration_seconds=round(seconds, 3),
    )


class BatchRunner:
    """Start batch jobs as tracked tasks and record their progress in the store."""

    def __init__(self, engine: Engine, store: MemoryJobStore, concurrency: int) -> None:
        self.engine = engine
        self.store = store
        self.concurrency = concurrency
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def submit(
        self,
        root: Path,
        label: str,
        options: ScanOptions,
        recursive: bool,
        *,
        planned: Plan | None = None,
    ) -> BatchJob:
        """Validate options (unless `planned` already is), store a pending job and start it.

        Every skill of the job is scanned with that one plan: a policy file is read once.
        """
        planned = planned or self.engine.plan(options)
        job = BatchJob(
            scan_id=new_scan_id(),
            status=JobStatus.PENDING,
            skills_directory=label,
            recursive=recursive,
            created_at=datetime.now(UTC),
        )
        self.store.add(job)
        task = asyncio.get_running_loop().create_task(self._run(job, root, options, planned))
        self._tasks[job.scan_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.scan_id, None))
        return job

    def cancel(self, scan_id: str) -> BatchJob:
        """Cancel a pending or running job; a finished job is returned as it is."""
        job = self.store.get(scan_id)
        task = self._tasks.get(scan_id)
        if job.status not in LIVE or task is None:
            return job
        started = job.status is JobStatus.RUNNING
        job.status, job.finished_at = JobStatus.CANCELLED, datetime.now(UTC)
        job.error = ErrorInfo(code="cancelled", message="the batch was cancelled on request")
        task.cancel()
        if not started:
            # NOTE: a task cancelled before its first step never runs `_run`, whose
            # `finally` would otherwise start the job's TTL.
            self.store.finished(scan_id, job.model_dump_json().encode())
        return job

    async def close(self) -> None:
        """Cancel running jobs and wait for them to stop."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, job: BatchJob, root: Path, options: ScanOptions, planned: Plan) -> None:
        job.status, job.started_at = JobStatus.RUNNING, datetime.now(UTC)
        t0 = time.perf_counter()
        try:
            skills = await asyncio.to_thread(
                discover_skills,
                root,
                recursive=job.recursive,
                limit=self.engine.settings.batch_max_skills,
            )
            job.progress.skills_found = len(skills)
            results, failures = await self._scan_all(job, skills, options, planned)
            job.result = BatchReport(
                results=results,
                failures=failures,
                summary=summarize(results, failures, time.perf_counter() - t0),
            )
            job.status = JobStatus.COMPLETED
        except ScannerError as exc:
            job.status, job.error = JobStatus.FAILED, ErrorInfo(code=exc.code, message=exc.message)
        except asyncio.CancelledError:
            if job.status is not JobStatus.CANCELLED:
                job.status = JobStatus.FAILED
                job.error = ErrorInfo(
                    code="cancelled", message="the server stopped before the batch ended"
                )
            raise
        except Exception:
            logger.exception("batch job failed", extra={"scan_id": job.scan_id})
            job.status = JobStatus.FAILED
            job.error = ErrorInfo(code="internal", message="the batch failed unexpectedly")
        finally:
            job.finished_at = job.finished_at or datetime.now(UTC)
            # NOTE: a finished job never changes again, so it is serialized once, off the
            # event loop when it holds results, and every later poll sends these bytes.
            if job.result is None:
                rendered = job.model_dump_json().encode()
            else:
                rendered = (await asyncio.to_thread(job.model_dump_json)).encode()
            self.store.finished(job.scan_id, rendered)

    async def _scan_all(
        self, job: BatchJob, skills: list[Path], options: ScanOptions, planned: Plan
    ) -> tuple[list[ScanResult], list[SkillFailure]]:
        gate = asyncio.Semaphore(self.concurrency)
        results: list[ScanResult | None] = [None] * len(skills)
        failures: list[SkillFailure] = []

        async def one(index: int, folder: Path) -> None:
            async with gate:
                try:
                    results[index] = await self.engine.scan_directory(
                        folder, options, label=str(folder), planned=planned
                    )
                except ScannerError as exc:
                    job.progress.skills_failed += 1
                    failures.append(
                        SkillFailure(
                            skill_directory=str(folder),
                            error=ErrorInfo(code=exc.code, message=exc.message),
                        )
                    )
                else:
                    job.progress.skills_scanned += 1

        await asyncio.gather(*(one(i, folder) for i, folder in enumerate(skills)))
        return [r for r in results if r is not None], failures
