import asyncio
import json
from pathlib import Path

from scanner.batch.runner import BatchRunner
from scanner.batch.store import MemoryJobStore
from scanner.core.errors import InvalidPackageError
from scanner.core.scan import ScanOptions
from scanner.engine import Engine
from scanner.settings import Settings


class HangingEngine(Engine):
    """An engine whose scans never end, without a sandbox."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.scanning = asyncio.Event()

    async def scan_directory(self, root, options, *, label=None, scan_id=None, planned=None):
        self.scanning.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def skills(tmp_path: Path) -> Path:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "SKILL.md").write_text("---\nname: x\ndescription: y\n---\n")
    return tmp_path


async def test_cancelling_a_running_batch_sets_finished_at_at_once(tmp_path: Path):
    store = MemoryJobStore(max_jobs=10, ttl_seconds=60)
    engine = HangingEngine(Settings())
    runner = BatchRunner(engine, store, concurrency=2)
    job = runner.submit(skills(tmp_path), "skills", ScanOptions(), recursive=False)
    await asyncio.wait_for(engine.scanning.wait(), 10)

    cancelled = runner.cancel(job.scan_id)
    answered = cancelled.model_dump(mode="json")
    await runner.close()

    final = json.loads(store.rendered(job.scan_id) or b"null")
    assert answered["status"] == "cancelled"
    assert answered["finished_at"] is not None
    assert final["finished_at"] == answered["finished_at"]
    assert cancelled.started_at is not None
    assert cancelled.finished_at >= cancelled.started_at
    assert final["status"] == "cancelled"


async def test_cancelling_a_batch_before_it_starts_still_finishes_it(tmp_path: Path):
    store = MemoryJobStore(max_jobs=10, ttl_seconds=60)
    runner = BatchRunner(HangingEngine(Settings()), store, concurrency=2)
    job = runner.submit(skills(tmp_path), "skills", ScanOptions(), recursive=False)

    cancelled = runner.cancel(job.scan_id)
    await runner.close()

    final = json.loads(store.rendered(job.scan_id) or b"null")
    assert cancelled.started_at is None
    assert cancelled.finished_at is not None
    assert final["status"] == "cancelled"
    assert final["error"] == {"code": "cancelled", "message": "the batch was cancelled on request"}


class PlanCountingEngine(Engine):
    """An engine that counts its plans and fails each scan at once, without a sandbox."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.plans = 0
        self.planned_seen: list[object] = []

    def plan(self, options):
        self.plans += 1
        return super().plan(options)

    async def scan_directory(self, root, options, *, label=None, scan_id=None, planned=None):
        self.planned_seen.append(planned)
        raise InvalidPackageError("not scanned in this test")


async def test_a_batch_resolves_its_policy_once_for_all_its_skills(tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: team\ndisabled_rules: [supply.extra-index]\n")
    (tmp_path / "skills").mkdir()
    store = MemoryJobStore(max_jobs=10, ttl_seconds=60)
    engine = PlanCountingEngine(Settings())
    runner = BatchRunner(engine, store, concurrency=2)

    job = runner.submit(
        skills(tmp_path / "skills"), "skills", ScanOptions(policy=str(policy)), recursive=False
    )
    await asyncio.wait_for(runner._tasks[job.scan_id], 10)

    assert engine.plans == 1
    assert len(engine.planned_seen) == 2
    assert all(p is engine.planned_seen[0] and p is not None for p in engine.planned_seen)
    assert job.progress.skills_failed == 2
