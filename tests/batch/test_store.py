from datetime import UTC, datetime

import pytest

from scanner.batch.store import BatchJob, JobStatus, MemoryJobStore
from scanner.core.errors import ScanNotFoundError, StoreFullError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def job(scan_id: str, status: JobStatus = JobStatus.PENDING) -> BatchJob:
    return BatchJob(
        scan_id=scan_id,
        status=status,
        skills_directory="/x",
        recursive=False,
        created_at=datetime.now(UTC),
    )


def test_full_store_of_live_jobs_refuses_new_ones():
    store = MemoryJobStore(max_jobs=2, ttl_seconds=60)
    store.add(job("a"))
    store.add(job("b", JobStatus.RUNNING))

    with pytest.raises(StoreFullError, match="full"):
        store.add(job("c"))

    assert store.get("a").status == JobStatus.PENDING
    assert store.get("b").status == JobStatus.RUNNING


def test_finished_job_is_evicted_before_any_live_one():
    store = MemoryJobStore(max_jobs=2, ttl_seconds=60)
    done = job("done", JobStatus.COMPLETED)
    store.add(done)
    store.finished("done")
    store.add(job("live"))

    store.add(job("new"))

    assert len(store) == 2
    assert store.get("live").scan_id == "live"
    with pytest.raises(ScanNotFoundError):
        store.get("done")


def test_least_recently_read_finished_job_goes_first():
    store = MemoryJobStore(max_jobs=2, ttl_seconds=60)
    for name in ("old", "new"):
        store.add(job(name, JobStatus.COMPLETED))
        store.finished(name)
    store.get("old")

    store.add(job("third"))

    assert store.get("old").scan_id == "old"
    with pytest.raises(ScanNotFoundError):
        store.get("new")


def test_finished_job_expires_after_ttl_but_live_job_never_does():
    clock = Clock()
    store = MemoryJobStore(max_jobs=10, ttl_seconds=3600, clock=clock)
    store.add(job("finished", JobStatus.FAILED))
    store.finished("finished")
    store.add(job("running", JobStatus.RUNNING))

    clock.now = 3599
    assert store.get("finished").status == JobStatus.FAILED
    clock.now = 3601

    with pytest.raises(ScanNotFoundError, match="removed"):
        store.get("finished")
    assert store.get("running").status == JobStatus.RUNNING


def test_unknown_id_is_not_found():
    store = MemoryJobStore(max_jobs=1, ttl_seconds=1)

    with pytest.raises(ScanNotFoundError, match="never existed"):
        store.get("nope")


def test_results_past_the_byte_budget_evict_older_finished_jobs():
    store = MemoryJobStore(max_jobs=10, ttl_seconds=60, max_result_bytes=1000)
    for name in ("a", "b", "c"):
        store.add(job(name, JobStatus.COMPLETED))
        store.finished(name, b"x" * 400)

    assert store.result_bytes == 800
    assert store.rendered("c") == b"x" * 400
    assert len(store) == 2
    with pytest.raises(ScanNotFoundError):
        store.get("a")
    assert store.get("c").scan_id == "c"


def test_byte_budget_never_evicts_a_live_job():
    store = MemoryJobStore(max_jobs=10, ttl_seconds=60, max_result_bytes=10)
    store.add(job("live", JobStatus.RUNNING))
    store.add(job("big", JobStatus.COMPLETED))

    store.finished("big", b"x" * 500)

    assert store.get("live").status == JobStatus.RUNNING
    assert store.get("big").status == JobStatus.COMPLETED
