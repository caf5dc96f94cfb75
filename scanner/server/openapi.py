"""The OpenAPI 3.1 document, built from the same pydantic models the handlers use.

Swagger UI and ReDoc pages load their scripts from this server: the assets
come from installed packages, so the pages work with no internet access.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from scanner import __version__
from scanner.batch.store import BatchJob
from scanner.core.models import ScanResult
from scanner.core.scan import ScanOptions
from scanner.server.schemas import (
    AnalyzersResponse,
    BatchAccepted,
    BatchRequest,
    ErrorResponse,
    HealthResponse,
    ScanRequest,
    ServiceInfo,
)

_REF = "#/components/schemas/{model}"

_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (ScanRequest, "validation"),
    (BatchRequest, "validation"),
    (ScanResult, "serialization"),
    (BatchAccepted, "serialization"),
    (BatchJob, "serialization"),
    (ErrorResponse, "serialization"),
    (ServiceInfo, "serialization"),
    (HealthResponse, "serialization"),
    (AnalyzersResponse, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed request, unreadable archive, or a flag for an analyzer this version lacks.",
        403: "The path is outside SKILL_SCANNER_ALLOWED_ROOTS.",
        404: "No such batch job (never created, or expired).",
        413: "The upload or archive crosses a size or count limit.",
        415: "The body has the wrong content type.",
        422: "A field or the policy is invalid, or the folder is not a skill.",
        503: "The sandbox or the job queue cannot take the work now; retry later.",
    }
    return {str(s): {"description": reasons[s], "content": _json(ErrorResponse)} for s in statuses}


def _upload_form() -> dict[str, Any]:
    options = ScanOptions.model_json_schema()["properties"]
    properties: dict[str, Any] = {
        "file": {
            "type": "string",
            "format": "binary",
            "contentMediaType": "application/zip",
            "description": "The skill as a ZIP archive (50 MB, 500 entries, 200 MB unpacked).",
        }
    }
    for name, schema in options.items():
        properties[name] = {k: v for k, v in schema.items() if k != "title"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": properties},
                "encoding": {"file": {"contentType": "application/zip"}},
            }
        },
    }


_SCAN_ID = {"name": "scan_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _paths() -> dict[str, dict[str, Any]]:
    ok = "200"
    return {
        "/": {
            "get": {
                "summary": "Service name, version and links",
                "tags": ["service"],
                "responses": {ok: {"description": "Links", "content": _json(ServiceInfo)}},
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness and sandbox state",
                "tags": ["service"],
                "responses": {ok: {"description": "Health", "content": _json(HealthResponse)}},
            }
        },
        "/analyzers": {
            "get": {
                "summary": "Analyzers, what activates them, their rule counts",
                "tags": ["service"],
                "responses": {
                    ok: {"description": "Analyzers", "content": _json(AnalyzersResponse)}
                },
            }
        },
        "/scan": {
            "post": {
                "summary": "Scan a skill folder on the server",
                "tags": ["scan"],
                "requestBody": {"required": True, "content": _json(ScanRequest)},
                "responses": {
                    ok: {"description": "Scan result", "content": _json(ScanResult)},
                    **_errors(400, 403, 413, 415, 422, 503),
                },
            }
        },
        "/scan-upload": {
            "post": {
                "summary": "Scan a skill uploaded as a ZIP archive",
                "tags": ["scan"],
                "requestBody": _upload_form(),
                "responses": {
                    ok: {"description": "Scan result", "content": _json(ScanResult)},
                    **_errors(400, 403, 413, 415, 422, 503),
                },
            }
        },
        "/scan-batch": {
            "post": {
                "summary": "Start scanning every skill under a folder",
                "tags": ["batch"],
                "requestBody": {"required": True, "content": _json(BatchRequest)},
                "responses": {
                    "202": {"description": "Accepted", "content": _json(BatchAccepted)},
                    **_errors(400, 403, 413, 415, 422, 503),
                },
            }
        },
        "/scan-batch/{scan_id}": {
            "get": {
                "summary": "Status, progress and results of a batch",
                "tags": ["batch"],
                "parameters": [_SCAN_ID],
                "responses": {
                    ok: {"description": "The job", "content": _json(BatchJob)},
                    **_errors(404),
                },
            },
            "delete": {
                "summary": "Cancel a pending or running batch (a finished one is unchanged)",
                "tags": ["batch"],
                "parameters": [_SCAN_ID],
                "responses": {
                    ok: {
                        "description": "The job, now `cancelled` if it was live",
                        "content": _json(BatchJob),
                    },
                    **_errors(404),
                },
            },
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the API."""
    spec = APISpec(
        title="Skill Scanner API",
        version=__version__,
        openapi_version="3.1.0",
        info={"description": "Scan AI agent skill packages for attacks before installing them."},
    )
    spec.components.security_scheme(
        "apiKey",
        {"type": "http", "scheme": "bearer",
         "description": "Needed when the server sets SKILL_SCANNER_API_KEYS."},
    )  # fmt: skip
    spec.options["security"] = [{}, {"apiKey": []}]
    _, top = models_json_schema(_MODELS, ref_template=_REF)
    for name, schema in top.get("$defs", {}).items():
        spec.components.schema(name, schema)
    for path, operations in _paths().items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Skill Scanner API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body></html>
"""

SWAGGER_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"});
});
"""

REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Skill Scanner API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script>
</body></html>
"""

# Asset name -> (package, path inside it, content type).
ASSETS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "swagger-ui.css": (
        "flask_openapi_swagger",
        ("templates", "swagger", "css", "swagger-ui.css"),
        "text/css",
    ),
    "swagger-ui-bundle.js": (
        "flask_openapi_swagger",
        ("templates", "swagger", "js", "swagger-ui-bundle.js"),
        "application/javascript",
    ),
    "redoc.standalone.js": (
        "flask_openapi_redoc",
        ("templates", "redoc", "js", "redoc.standalone.js"),
        "application/javascript",
    ),
}
