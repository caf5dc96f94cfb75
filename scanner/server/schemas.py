"""Request and response bodies of the HTTP API (also the OpenAPI schemas)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from scanner.analyzers.base import Activation
from scanner.core.scan import ScanOptions

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ScanRequest(ScanOptions):
    """Body of `POST /scan`."""

    skill_directory: str = Field(
        min_length=1, max_length=4096, description="Absolute path of the skill folder to scan."
    )


class BatchRequest(ScanOptions):
    """Body of `POST /scan-batch`."""

    skills_directory: str = Field(
        min_length=1, max_length=4096, description="Absolute path of a folder of skill folders."
    )
    recursive: bool = Field(default=False, description="Find skills at any depth.")


class BatchAccepted(BaseModel):
    """Answer of `POST /scan-batch` (HTTP 202)."""

    model_config = _FROZEN

    scan_id: str
    status: str = Field(description="Always `pending` at submission.")
    status_url: str


class ErrorDetail(BaseModel):
    """What went wrong, with a stable machine-readable code."""

    model_config = _FROZEN

    code: str = Field(description="Stable code, e.g. `path_not_allowed`, `too_large`.")
    message: str = Field(description="What was wrong and what to do about it.")
    scan_id: str | None = None


class ErrorResponse(BaseModel):
    """Body of every 4xx and 5xx answer."""

    model_config = _FROZEN

    error: ErrorDetail


class ServiceInfo(BaseModel):
    """Answer of `GET /`."""

    model_config = _FROZEN

    service: str
    version: str
    docs: str
    redoc: str
    openapi: str
    health: str


class SandboxState(BaseModel):
    """The analysis sandbox's pool of worker processes."""

    model_config = _FROZEN

    size: int
    workers_alive: int
    tasks_running: int
    tasks_queued: int
    restarts: int


class HealthResponse(BaseModel):
    """Answer of `GET /health`."""

    model_config = _FROZEN

    status: str = Field(description="`ok`, or `degraded` when workers are missing.")
    version: str
    analyzers_available: list[str]
    sandbox: SandboxState
    batch_jobs: int


class AnalyzerInfo(BaseModel):
    """One analyzer as `GET /analyzers` lists it."""

    model_config = _FROZEN

    name: str
    description: str
    available: bool
    activation: Activation
    rule_count: int
    sandboxed: bool


class AnalyzersResponse(BaseModel):
    """Answer of `GET /analyzers`."""

    model_config = _FROZEN

    analyzers: list[AnalyzerInfo]
