"""Request handlers: parse into a model, call the engine, render the answer model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TypeVar

import pydantic
from aiohttp import web

from scanner import __version__
from scanner.analyzers import registry
from scanner.core.errors import (
    BadRequestError,
    InvalidPackageError,
    RequestTimeoutError,
    UnsupportedMediaError,
    ValidationError,
)
from scanner.core.scan import OPTIONAL_FLAGS, ScanOptions
from scanner.engine import confine
from scanner.intake.archive import extract_zip
from scanner.intake.upload import receive_upload, request_workdir
from scanner.server.keys import BATCH_KEY, ENGINE_KEY, SETTINGS_KEY, STORE_KEY
from scanner.server.schemas import (
    AnalyzerInfo,
    AnalyzersResponse,
    BatchAccepted,
    BatchRequest,
    HealthResponse,
    SandboxState,
    ScanRequest,
    ServiceInfo,
)

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

SERVICE_NAME = "skill-scanner"


def json_model(model: pydantic.BaseModel, status: int = 200) -> web.Response:
    """Render a response model as JSON."""
    return web.Response(
        body=model.model_dump_json().encode(), status=status, content_type="application/json"
    )


def describe_validation(exc: pydantic.ValidationError) -> str:
    """Name each bad field and why, without echoing the submitted values."""
    parts = []
    for error in exc.errors()[:5]:
        field = ".".join(str(p) for p in error["loc"]) or "body"
        reason = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{field}: {reason}")
    return "; ".join(parts)


def parse_model(model: type[ModelT], data: object, *, strict: bool = False) -> ModelT:
    """Validate request data into a model, turning errors into a 422.

    JSON bodies are validated strictly (`true`, not `"yes"`); form fields arrive as
    text and are converted.
    """
    try:
        return model.model_validate(data, strict=strict)
    except pydantic.ValidationError as exc:
        raise ValidationError(describe_validation(exc)) from exc


async def read_json(request: web.Request, model: type[ModelT]) -> ModelT:
    """Read a JSON body (size-capped by the app) into a request model."""
    if request.content_type not in ("application/json", "application/octet-stream"):
        raise UnsupportedMediaError(
            "send the request body as JSON (Content-Type: application/json)"
        )
    timeout = request.app[SETTINGS_KEY].body_read_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError as exc:
        raise RequestTimeoutError(f"the request body did not arrive within {timeout:g} s") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRequestError(
            f"the request body is not valid JSON ({exc.__class__.__name__})"
        ) from exc
    if not isinstance(data, dict):
        raise BadRequestError("the request body must be a JSON object")
    return parse_model(model, data, strict=True)


async def index(request: web.Request) -> web.Response:
    """Name the service and link to its documentation."""
    info = ServiceInfo(
        service=SERVICE_NAME,
        version=__version__,
        docs="/docs",
        redoc="/redoc",
        openapi="/openapi.json",
        health="/health",
    )
    return json_model(info)


async def health(request: web.Request) -> web.Response:
    """Report liveness and the sandbox's state; never waits on scans."""
    engine = request.app[ENGINE_KEY]
    stats = engine.pool.stats()
    state = SandboxState(**stats.model_dump())
    status = "ok" if stats.workers_alive == stats.size else "degraded"
    body = HealthResponse(
        status=status,
        version=__version__,
        analyzers_available=registry.names(),
        sandbox=state,
        batch_jobs=len(request.app[STORE_KEY]),
    )
    return json_model(body)


async def analyzers(request: web.Request) -> web.Response:
    """List built-in analyzers and the optional ones this version lacks."""
    items = []
    for name in registry.names():
        cls = registry.analyzer_class(name)
        items.append(
            AnalyzerInfo(
                name=name,
                description=cls.description,
                available=True,
                activation=cls.activation,
                rule_count=registry.instance(name).rule_count(),
                sandboxed=True,
            )
        )
    items.extend(_missing_analyzers())
    return json_model(AnalyzersResponse(analyzers=items))


def _missing_analyzers() -> list[AnalyzerInfo]:
    from scanner.analyzers.base import Activation

    return [
        AnalyzerInfo(
            name=name,
            description="Not available in this version; requests that set the flag get HTTP 400.",
            available=False,
            activation=Activation(kind="flag", detail=flag),
            rule_count=0,
            sandboxed=False,
        )
        for flag, name in OPTIONAL_FLAGS.items()
        if name not in registry.names()
    ]


async def scan(request: web.Request) -> web.Response:
    """Scan a skill folder on the server's disk."""
    body = await read_json(request, ScanRequest)
    engine = request.app[ENGINE_KEY]
    root = confine(
        body.skill_directory, field="skill_directory", allowed_roots=engine.settings.allowed_roots
    )
    options = ScanOptions(**body.model_dump(exclude={"skill_directory"}))
    result = await engine.scan_directory(root, options, label=body.skill_directory)
    return json_model(result)


async def scan_upload(request: web.Request) -> web.Response:
    """Scan a skill uploaded as a ZIP archive."""
    engine = request.app[ENGINE_KEY]
    settings = engine.settings
    async with request_workdir(settings.temp_dir) as workdir:
        upload = await receive_upload(
            request,
            workdir,
            max_upload_bytes=settings.max_upload_bytes,
            read_timeout=settings.body_read_timeout_seconds,
        )
        options = parse_model(ScanOptions, upload.fields)
        planned = await engine.aplan(options)
        dest = workdir / "skill"
        async with engine.admit():
            await asyncio.to_thread(
                extract_zip,
                upload.archive,
                dest,
                max_entries=settings.max_zip_entries,
                max_uncompressed_bytes=settings.max_uncompressed_bytes,
            )
            if not await asyncio.to_thread(_has_entries, dest):
                raise InvalidPackageError("the archive holds no files; zip the skill folder itself")
            result = await engine.scan_directory(dest, options, label=None, planned=planned)
    return json_model(result)


async def scan_batch(request: web.Request) -> web.Response:
    """Start scanning every skill under a folder; answer at once with a job id."""
    body = await read_json(request, BatchRequest)
    engine = request.app[ENGINE_KEY]
    root = confine(
        body.skills_directory, field="skills_directory", allowed_roots=engine.settings.allowed_roots
    )
    if not await asyncio.to_thread(_is_dir, root):
        raise InvalidPackageError("skills_directory is not an existing folder")
    options = ScanOptions(**body.model_dump(exclude={"skills_directory", "recursive"}))
    planned = await engine.aplan(options)
    job = request.app[BATCH_KEY].submit(
        root, body.skills_directory, options, body.recursive, planned=planned
    )
    accepted = BatchAccepted(
        scan_id=job.scan_id, status=job.status.value, status_url=f"/scan-batch/{job.scan_id}"
    )
    return json_model(accepted, status=202)


async def batch_status(request: web.Request) -> web.Response:
    """Report a batch job's status, progress and, once done, its results."""
    store = request.app[STORE_KEY]
    job = store.get(request.match_info["scan_id"])
    rendered = store.rendered(job.scan_id)
    if rendered is not None:
        return web.Response(body=rendered, content_type="application/json")
    return json_model(job)


def _has_entries(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


async def cancel_batch(request: web.Request) -> web.Response:
    """Cancel a pending or running batch; a finished one is returned unchanged."""
    job = request.app[BATCH_KEY].cancel(request.match_info["scan_id"])
    return json_model(job)


def static_path(package: str, *parts: str) -> Path:
    """Return a file shipped inside an installed package, without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise web.HTTPNotFound
    return Path(next(iter(spec.submodule_search_locations)), *parts)
