"""Batch job store: bounded by count, finished jobs kept for a TTL.

A pending or running job is never evicted. When the store is full of live
jobs, `add` raises `StoreFullError` (HTTP 503 with Retry-After). `JobStore` is
the interface, so a shared backend can replace the in-memory one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from scanner.core.errors import ScanNotFoundError, StoreFullError
from scanner.core.models import ScanResult, Severity


class JobStatus(StrEnum):
    """Life cycle of a batch job."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


LIVE = frozenset({JobStatus.PENDING, JobStatus.RUNNING})


class ErrorInfo(BaseModel):
    """A typed error, as in the API's error body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str


class BatchProgress(BaseModel):
    """How far a batch has come."""

    model_config = ConfigDict(extra="forbid")

    skills_found: int = 0
    skills_scanned: int = 0
    skills_failed: int = 0


class SkillFailure(BaseModel):
    """A skill of a batch that could not be scanned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skill_directory: str
    error: ErrorInfo


class BatchSummary(BaseModel):
    """Counts over a completed batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    total_skills: int
    safe_skills: int
    unsafe_skills: int
    failed_skills: int
    total_findings: int
    findings_by_severity: dict[Severity, int]
    duration_seconds: float


class BatchReport(BaseModel):
    """Per-skill results of a completed batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: list[ScanResult]
    failures: list[SkillFailure]
    summary: BatchSummary


class BatchJob(BaseModel):
    """State of one batch job, as `GET /scan-batch/{scan_id}` shows it."""

    model_config = ConfigDict(extra="forbid")

    scan_id: str
    status: JobStatus
    skills_directory: str
    recursive: bool
    progress: BatchProgress = Field(default_factory=BatchProgress)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: BatchReport | None = None
    error: ErrorInfo | None = None


class JobStore(Protocol):
    """Where batch jobs live between submission and expiry."""

    def add(self, job: BatchJob) -> None:
        """Store a new job, evicting finished ones if needed."""

    def get(self, scan_id: str) -> BatchJob:
        """Return a job or raise `ScanNotFoundError`."""

    def finished(self, scan_id: str, rendered: bytes = b"") -> None:
        """Start the TTL of a job that just ended, keeping its final JSON."""

    def rendered(self, scan_id: str) -> bytes | None:
        """Return the final JSON of a finished job, or None while it is live."""

    def __len__(self) -> int:
        """Return how many jobs are stored."""


class MemoryJobStore:
    """In-memory LRU of jobs with a TTL that starts when a job finishes."""

    def __init__(
        self,
        max_jobs: int,
        ttl_seconds: float,
        max_result_bytes: int = 256 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_jobs = max_jobs
        self.ttl_seconds = ttl_seconds
        self.max_result_bytes = max_result_bytes
        self._clock = clock
        self._jobs: OrderedDict[str, BatchJob] = OrderedDict()
        self._expires: dict[str, float] = {}
        self._rendered: dict[str, bytes] = {}

    @property
    def result_bytes(self) -> int:
        """Return the serialized size of every finished job held."""
        return sum(len(body) for body in self._rendered.values())

    def rendered(self, scan_id: str) -> bytes | None:
        """Return the JSON a finished job was serialized to once, or None while it is live."""
        return self._rendered.get(scan_id)

    def __len__(self) -> int:
        return len(self._jobs)

    def live_count(self) -> int:
        """Return how many stored jobs are pending or running."""
        return sum(1 for job in self._jobs.values() if job.status in LIVE)

    def add(self, job: BatchJob) -> None:
        """Store a job; evict expired, then least recently used finished jobs."""
        self._purge_expired()
        while len(self._jobs) >= self.max_jobs:
            if not self._evict_one_finished():
                raise StoreFullError(
                    f"the batch queue is full ({self.max_jobs} jobs pending or running); "
                    "retry when some have finished"
                )
        self._jobs[job.scan_id] = job

    def get(self, scan_id: str) -> BatchJob:
        """Return a job and mark it recently used."""
        self._purge_expired()
        job = self._jobs.get(scan_id)
        if job is None:
            raise ScanNotFoundError(
                f"no batch scan with id {scan_id!r}: it never existed, or it finished more than "
                f"{int(self.ttl_seconds)} s ago and was removed"
            )
        self._jobs.move_to_end(scan_id)
        return job

    def finished(self, scan_id: str, rendered: bytes = b"") -> None:
        """Start the TTL of a finished job and keep its final JSON; evict past the budget."""
        if scan_id not in self._jobs:
            return
        self._expires[scan_id] = self._clock() + self.ttl_seconds
        self._rendered[scan_id] = rendered
        while self.result_bytes > self.max_result_bytes and self._evict_one_finished(keep=scan_id):
            pass

    def _purge_expired(self) -> None:
        now = self._clock()
        for scan_id in [sid for sid, when in self._expires.items() if when <= now]:
            self._drop(scan_id)

    def _evict_one_finished(self, keep: str | None = None) -> bool:
        for scan_id, job in self._jobs.items():
            if job.status not in LIVE and scan_id != keep:
                self._drop(scan_id)
                return True
        return False

    def _drop(self, scan_id: str) -> None:
        self._jobs.pop(scan_id, None)
        self._expires.pop(scan_id, None)
        self._rendered.pop(scan_id, None)
