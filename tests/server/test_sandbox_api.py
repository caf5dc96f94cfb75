"""Analyzers that crash, hang or exhaust memory fail only their own scan's entry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from scanner.server.keys import ENGINE_KEY

PLUGIN = "tests.sandbox.faulty_analyzers"


async def wait_for_workers(client, count: int, seconds: float = 10.0) -> bool:
    """Poll /health until the sandbox has replaced its workers."""
    for _ in range(int(seconds / 0.05)):
        health = await (await client.get("/health")).json()
        if health["sandbox"]["workers_alive"] == count:
            return health["status"] == "ok"
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
def policy_for(tmp_path: Path):
    def write(analyzer: str) -> str:
        path = tmp_path / f"{analyzer}.yaml"
        path.write_text(f"name: with-{analyzer}\nenabled_analyzers: [{analyzer}]\n")
        return str(path)

    return write


@pytest.mark.parametrize(
    ("analyzer", "codes"),
    [
        ("test-crash", {"crashed"}),
        ("test-segv", {"crashed"}),
        ("test-hang", {"timeout"}),
        ("test-alloc", {"out_of_memory", "crashed"}),
        ("test-raise", {"analyzer_error"}),
        ("test-recurse", {"crashed", "analyzer_error", "out_of_memory", "timeout"}),
    ],
)
async def test_faulty_analyzer_fails_only_its_scan(
    analyzer, codes, make_client, corpus_copy: Path, policy_for
):
    client = await make_client(
        plugin_modules=(PLUGIN,), analyzer_timeout_seconds=3.0, worker_memory_mb=256
    )
    skill = str(corpus_copy / "terminal-theme")
    faulty = {"skill_directory": skill, "policy": policy_for(analyzer)}
    normal = {"skill_directory": str(corpus_copy / "git-churn-report")}

    bad, *good = await asyncio.gather(
        client.post("/scan", json=faulty), *(client.post("/scan", json=normal) for _ in range(3))
    )

    body = await bad.json()
    assert bad.status == 200
    assert [run["analyzer"] for run in body["analyzers_failed"]] == [analyzer]
    assert body["analyzers_failed"][0]["code"] in codes
    assert body["complete"] is False
    assert body["is_safe"] is False
    assert {"signatures", "manifest", "unicode", "files"} <= set(body["analyzers_used"])
    assert any(f["file_path"] == "scripts/apply.sh" for f in body["findings"])
    for resp in good:
        other = await resp.json()
        assert resp.status == 200
        assert other["analyzers_failed"] == []
        assert other["is_safe"] is True
    after = await (await client.post("/scan", json=normal)).json()
    assert after["analyzers_failed"] == []
    assert await wait_for_workers(client, 2)


async def test_health_answers_while_workers_are_busy(make_client, corpus_copy: Path, policy_for):
    client = await make_client(plugin_modules=(PLUGIN,), analyzer_timeout_seconds=3.0)
    hang = {
        "skill_directory": str(corpus_copy / "git-churn-report"),
        "policy": policy_for("test-hang"),
    }
    scans = [asyncio.ensure_future(client.post("/scan", json=hang)) for _ in range(2)]
    await asyncio.sleep(0.5)

    health = await client.get("/health")

    body = await health.json()
    assert health.status == 200
    assert body["sandbox"]["tasks_running"] >= 1
    for done in await asyncio.gather(*scans):
        assert done.status == 200


async def test_store_full_of_live_jobs_answers_503_with_retry_after(
    make_client, corpus_copy: Path, policy_for
):
    client = await make_client(
        plugin_modules=(PLUGIN,), analyzer_timeout_seconds=3.0, batch_max_jobs=1
    )
    slow = {"skills_directory": str(corpus_copy), "policy": policy_for("test-hang")}

    first = await client.post("/scan-batch", json=slow)
    second = await client.post("/scan-batch", json=slow)

    assert first.status == 202
    body = await second.json()
    assert second.status == 503
    assert body["error"]["code"] == "job_store_full"
    assert second.headers["Retry-After"].isdigit()


async def test_delete_cancels_a_running_batch_and_frees_its_workers(
    make_client, corpus_copy: Path, policy_for
):
    client = await make_client(plugin_modules=(PLUGIN,), analyzer_timeout_seconds=30.0)
    slow = {"skills_directory": str(corpus_copy), "policy": policy_for("test-hang")}
    accepted = await (await client.post("/scan-batch", json=slow)).json()
    await asyncio.sleep(0.5)

    resp = await client.delete(f"/scan-batch/{accepted['scan_id']}")

    body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "cancelled"
    assert body["error"]["code"] == "cancelled"
    assert body["finished_at"] is not None
    later = await (await client.get(f"/scan-batch/{accepted['scan_id']}")).json()
    assert later["status"] == "cancelled"
    assert later["finished_at"] == body["finished_at"]
    assert await wait_for_workers(client, 2)
    health = await (await client.get("/health")).json()
    assert health["sandbox"]["tasks_running"] == 0
    assert health["sandbox"]["restarts"] >= 1


async def test_delete_of_unknown_batch_is_404(client):
    resp = await client.delete("/scan-batch/nope")

    assert resp.status == 404


async def test_client_that_goes_away_cancels_its_scan(make_client, corpus_copy: Path, policy_for):
    client = await make_client(plugin_modules=(PLUGIN,), analyzer_timeout_seconds=30.0)
    hang = {"skill_directory": str(corpus_copy / "git-churn-report"),
            "policy": policy_for("test-hang")}  # fmt: skip
    request = asyncio.ensure_future(client.post("/scan", json=hang))
    await asyncio.sleep(0.5)

    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request

    for _ in range(100):
        health = await (await client.get("/health")).json()
        if health["sandbox"]["tasks_running"] == 0 and health["sandbox"]["restarts"] >= 1:
            break
        await asyncio.sleep(0.05)
    assert health["sandbox"]["tasks_running"] == 0
    assert health["sandbox"]["restarts"] >= 1


async def test_workers_killed_from_outside_fail_only_the_scans_they_ran(
    make_client, corpus_copy: Path, policy_for
):
    import os
    import signal

    client = await make_client(plugin_modules=(PLUGIN,), analyzer_timeout_seconds=30.0)
    hang = {"skill_directory": str(corpus_copy / "terminal-theme"),
            "policy": policy_for("test-hang")}  # fmt: skip
    scans = [asyncio.ensure_future(client.post("/scan", json=hang)) for _ in range(2)]
    await asyncio.sleep(1.0)
    engine_pool = client.app[ENGINE_KEY].pool

    for pid in engine_pool.worker_pids():
        os.kill(pid, signal.SIGKILL)
    results = [await (await s).json() for s in scans]

    for body in results:
        assert [run["code"] for run in body["analyzers_failed"]] == ["crashed"]
        assert any(f["file_path"] == "scripts/apply.sh" for f in body["findings"])
    assert await wait_for_workers(client, 2)
    normal = {"skill_directory": str(corpus_copy / "git-churn-report")}
    after = await (await client.post("/scan", json=normal)).json()
    assert after["analyzers_failed"] == []
