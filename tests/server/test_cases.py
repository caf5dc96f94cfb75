"""The hostile inputs of shared/cases (generated at test time) through the API."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import gen_skills
import gen_zips
import pytest

from tests.server.conftest import leftover_temp
from tests.server.test_batch import wait_for_job

RANK = {"INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


# Generated once per test process at collection time, in a folder removed at exit.
_WORKDIR = tempfile.TemporaryDirectory(prefix="scanner-cases-")
SKILL_CASES = {
    f"{c['case']}:{c['variant']}": c
    for c in gen_skills.build(Path(_WORKDIR.name) / "bc", 9, 100_000)
}
ZIP_CASES = {
    f"{c['case']}:{c['variant']}": c
    for c in gen_zips.build(_mkdir(Path(_WORKDIR.name) / "up"))["cases"]
}


def max_rank(findings: list[dict]) -> int:
    return max((RANK[f["severity"]] for f in findings), default=-1)


def judge(expect: dict, status: int, body: object, seconds: float) -> list[str]:
    """Return what the answer got wrong against the case's expectations."""
    problems = []
    wanted = expect.get("status")
    if wanted is not None and status not in (wanted if isinstance(wanted, list) else [wanted]):
        problems.append(f"status {status} not in {wanted}")
    if status >= 400 and not (isinstance(body, dict) and "error" in body):
        problems.append("error body is not the JSON error shape")
    findings = body.get("findings", []) if isinstance(body, dict) else []
    need = RANK[expect.get("min_severity", "HIGH")]
    if "must_flag_file" in expect:
        hits = [
            f
            for f in findings
            if f["file_path"] == expect["must_flag_file"] and RANK[f["severity"]] >= need
        ]
        if not hits:
            problems.append(
                f"no {expect.get('min_severity', 'HIGH')}+ finding on {expect['must_flag_file']}"
            )
    elif "min_severity" in expect and status == 200 and max_rank(findings) < need:
        problems.append("max severity below expectation")
    if expect.get("max_seconds") and seconds > expect["max_seconds"]:
        problems.append(f"took {seconds:.1f}s")
    return problems


@pytest.mark.parametrize("case_id", sorted(SKILL_CASES))
async def test_skill_folder_case(case_id, make_client, settings_factory):
    case = SKILL_CASES[case_id]
    client = await make_client()
    t0 = time.monotonic()

    if case["mode"] == "batch":
        resp = await client.post("/scan-batch", json={"skills_directory": case["path"]})
        job = await wait_for_job(client, (await resp.json())["scan_id"])
        per = {
            Path(r["skill_directory"]).name: max(
                (RANK[f["severity"]] for f in r["findings"]), default=-1
            )
            for r in job["result"]["results"]
        }
        assert job["status"] == "completed"
        assert len(per) == case["expect"]["batch_skills"]
        assert all(per[name] >= RANK["HIGH"] for name in case["expect"]["must_flag_skill"])
        return
    resp = await client.post("/scan", json={"skill_directory": case["path"]})
    text = await resp.text()
    body = json.loads(text)

    assert judge(case["expect"], resp.status, body, time.monotonic() - t0) == []
    if case["expect"].get("no_canary"):
        assert case["expect"]["no_canary"] not in text
    if "max_response_bytes" in case["expect"]:
        assert len(text) < case["expect"]["max_response_bytes"]
    if "skill_name" in case["expect"]:
        assert body["skill_name"] == case["expect"]["skill_name"]
    if "must_mention" in case["expect"] and case["variant"].endswith("last-evil"):
        assert case["expect"]["must_mention"] in text
    assert (await client.get("/health")).status == 200
    assert leftover_temp(settings_factory().temp_dir) == []


@pytest.mark.parametrize("case_id", sorted(ZIP_CASES))
async def test_archive_case(case_id, make_client, settings_factory):
    case = ZIP_CASES[case_id]
    client = await make_client()
    data = aiohttp.FormData()
    data.add_field(
        "file",
        io.BytesIO(Path(case["path"]).read_bytes()),
        filename="skill.zip",
        content_type="application/zip",
    )
    t0 = time.monotonic()

    resp = await client.post("/scan-upload", data=data)

    body = await resp.json()
    assert judge(case["expect"], resp.status, body, time.monotonic() - t0) == []
    assert [c for c in case["canaries"] if os.path.exists(c)] == []
    assert (await client.get("/health")).status == 200
    await asyncio.sleep(0)
    assert leftover_temp(settings_factory().temp_dir) == []
