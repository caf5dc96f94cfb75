"""Every documented operation, fuzzed by schemathesis against a real server.

The server is confined to one folder holding one small skill, so generated
paths mostly end in 403 or 422 and generated uploads in 400, 415 or 422; what
matters is that every answer is documented, well-typed and never a 5xx.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scanner.server.openapi import openapi_document
from tests.contract.conftest import SCRIPT, SKILL_MD

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TIMEOUT = 30


@SCHEMA.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms(case, base_url: str, session: requests.Session):
    case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT)


def test_scan_of_the_allowed_skill_conforms(
    base_url: str, session: requests.Session, allowed_root: Path
):
    case = SCHEMA["/scan"]["POST"].Case(body={"skill_directory": str(allowed_root / "skill")})

    response = case.call_and_validate(
        base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT
    )

    assert response.status_code == 200


def test_scan_outside_the_allowed_roots_conforms(base_url: str, session: requests.Session):
    case = SCHEMA["/scan"]["POST"].Case(body={"skill_directory": "/etc"})

    response = case.call_and_validate(
        base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "path_not_allowed"


def test_upload_of_a_valid_zip_conforms(base_url: str, session: requests.Session):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skill/SKILL.md", SKILL_MD)
        archive.writestr("skill/scripts/run.sh", SCRIPT)
    case = SCHEMA["/scan-upload"]["POST"].Case(
        body={"file": buffer.getvalue()}, media_type="multipart/form-data"
    )

    response = case.call_and_validate(
        base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT
    )

    assert response.status_code == 200


def test_batch_of_the_allowed_root_conforms(
    base_url: str, session: requests.Session, allowed_root: Path
):
    case = SCHEMA["/scan-batch"]["POST"].Case(body={"skills_directory": str(allowed_root)})

    response = case.call_and_validate(
        base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT
    )

    assert response.status_code == 202
    job = SCHEMA["/scan-batch/{scan_id}"]["GET"].Case(
        path_parameters={"scan_id": response.json()["scan_id"]}
    )
    job.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=TIMEOUT)
