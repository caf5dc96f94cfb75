"""POST /scan-upload: a zipped skill is scanned; bad uploads are refused cleanly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import aiohttp

from tests.server.conftest import leftover_temp


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def form(data: bytes, **fields: str) -> aiohttp.FormData:
    body = aiohttp.FormData()
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", io.BytesIO(data), filename="skill.zip", content_type="application/zip")
    return body


async def test_upload_of_zipped_sample_reports_findings(
    client, corpus_copy: Path, settings_factory
):
    data = zip_folder(corpus_copy / "terminal-theme", prefix="terminal-theme/")

    resp = await client.post("/scan-upload", data=form(data))

    body = await resp.json()
    assert resp.status == 200
    assert body["skill_name"] == "terminal-theme"
    assert body["is_safe"] is False
    assert body["skill_directory"] is None
    assert any(
        f["file_path"] == "scripts/apply.sh" and f["severity"] in ("HIGH", "CRITICAL")
        for f in body["findings"]
    )
    assert leftover_temp(settings_factory().temp_dir) == []


async def test_upload_fields_set_options(client, corpus_copy: Path):
    data = zip_folder(corpus_copy / "backup-schedule-helper")

    resp = await client.post("/scan-upload", data=form(data, policy="strict", lenient="true"))

    body = await resp.json()
    assert resp.status == 200
    assert body["policy"] == "strict"


async def test_upload_with_unknown_field_is_422(client, corpus_copy: Path):
    data = zip_folder(corpus_copy / "backup-schedule-helper")

    resp = await client.post("/scan-upload", data=form(data, use_behaviour="true"))

    assert resp.status == 422
    assert "use_behaviour" in (await resp.json())["error"]["message"]


async def test_upload_with_missing_analyzer_flag_is_400(client, corpus_copy: Path):
    data = zip_folder(corpus_copy / "backup-schedule-helper")

    resp = await client.post("/scan-upload", data=form(data, use_virustotal="true"))

    assert resp.status == 400
    assert "use_virustotal" in (await resp.json())["error"]["message"]


async def test_upload_that_is_not_multipart_is_415(client):
    resp = await client.post(
        "/scan-upload", data=b"PK\x03\x04", headers={"Content-Type": "application/zip"}
    )

    assert resp.status == 415
    assert (await resp.json())["error"]["code"] == "unsupported_media_type"


async def test_upload_without_file_part_is_400(client):
    body = aiohttp.FormData()
    body.add_field("policy", "strict")
    body.add_field("other", b"x", filename="x.bin")

    resp = await client.post("/scan-upload", data=body)

    assert resp.status == 400
    assert "file" in (await resp.json())["error"]["message"]


async def test_upload_over_the_size_limit_is_413(make_client, settings_factory):
    client = await make_client(max_upload_bytes=64 * 1024)

    resp = await client.post("/scan-upload", data=form(b"PK" + b"\0" * 300_000))

    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"
    assert leftover_temp(settings_factory().temp_dir) == []


async def test_archive_with_too_many_entries_is_413(make_client, make_skill):
    client = await make_client(max_zip_entries=5)
    skill = make_skill({f"f{i}.txt": "x" for i in range(6)} | {"SKILL.md": "---\nname: a\n---\n"})

    resp = await client.post("/scan-upload", data=form(zip_folder(skill)))

    assert resp.status == 413


async def test_garbage_upload_is_400_and_leaves_nothing(client, settings_factory):
    resp = await client.post("/scan-upload", data=form(b"this is not a zip file\n" * 50))

    body = await resp.json()
    assert resp.status == 400
    assert body["error"]["code"] == "invalid_archive"
    assert leftover_temp(settings_factory().temp_dir) == []
    assert (await client.get("/health")).status == 200


async def test_empty_archive_is_422(client):
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w"):
        pass

    resp = await client.post("/scan-upload", data=form(empty.getvalue()))

    body = await resp.json()
    assert resp.status == 422
    assert "holds no files" in body["error"]["message"]
