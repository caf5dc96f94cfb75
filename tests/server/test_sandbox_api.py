"""Analyzers that crash, hang or exhaust memory fail only their own scan's entry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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
