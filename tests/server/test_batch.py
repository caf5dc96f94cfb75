"""POST /scan-batch and GET /scan-batch/{id}: jobs over a folder of skills."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import corpus_samples, expected


async def wait_for_job(client, scan_id: str, seconds: float = 120) -> dict:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        resp = await client.get(f"/scan-batch/{scan_id}")
        body = await resp.json()
        assert resp.status == 200
        if body["status"] in ("completed", "failed"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body["status"]
        await asyncio.sleep(0.1)


async def test_batch_over_corpus_reports_every_sample(client, corpus_copy: Path):
    resp = await client.post("/scan-batch", json={"skills_directory": str(corpus_copy)})

    accepted = await resp.json()
    assert resp.status == 202
    assert accepted["status"] == "pending"
    job = await wait_for_job(client, accepted["scan_id"])
    samples = corpus_samples()
    assert job["status"] == "completed"
    assert job["progress"] == {
        "skills_found": len(samples),
        "skills_scanned": len(samples),
        "skills_failed": 0,
    }
    assert job["started_at"] is not None
    assert job["finished_at"] is not None
    results = {Path(r["skill_directory"]).name: r for r in job["result"]["results"]}
    assert set(results) == {s.name for s in samples}
    malicious = [s.name for s in samples if expected(s)["label"] == "malicious"]
    flagged = [name for name in malicious if not results[name]["is_safe"]]
    assert len(flagged) >= len(malicious) * 0.8
    summary = job["result"]["summary"]
    assert summary["total_skills"] == len(samples)
    assert summary["safe_skills"] + summary["unsafe_skills"] == len(samples)


async def test_recursive_batch_finds_nested_skills(client, make_skill, tmp_path: Path):
    make_skill({"SKILL.md": "---\nname: a\ndescription: A skill.\n---\n"}, name="group/a")
    make_skill({"SKILL.md": "---\nname: b\ndescription: B skill.\n---\n"}, name="group/deeper/b")
    root = tmp_path / "skills"

    flat = await (await client.post("/scan-batch", json={"skills_directory": str(root)})).json()
    deep = await (
        await client.post("/scan-batch", json={"skills_directory": str(root), "recursive": True})
    ).json()

    assert (await wait_for_job(client, flat["scan_id"]))["progress"]["skills_found"] == 0
    job = await wait_for_job(client, deep["scan_id"])
    assert sorted(r["skill_name"] for r in job["result"]["results"]) == ["a", "b"]


async def test_unknown_batch_id_is_404(client):
    resp = await client.get("/scan-batch/00000000-0000-0000-0000-000000000000")

    body = await resp.json()
    assert resp.status == 404
    assert body["error"]["code"] == "scan_not_found"


async def test_batch_on_missing_folder_is_422(client, tmp_path: Path):
    resp = await client.post("/scan-batch", json={"skills_directory": str(tmp_path / "none")})

    assert resp.status == 422


async def test_batch_outside_allowed_roots_is_403(make_client, tmp_path: Path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    client = await make_client(allowed_roots=(allowed,))

    resp = await client.post("/scan-batch", json={"skills_directory": str(tmp_path)})

    assert resp.status == 403


async def test_batch_with_missing_analyzer_flag_is_400(client, tmp_path: Path):
    resp = await client.post(
        "/scan-batch", json={"skills_directory": str(tmp_path), "use_llm": True}
    )

    assert resp.status == 400
    assert "use_llm" in (await resp.json())["error"]["message"]
