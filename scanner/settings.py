"""One settings object, read once at start from flags and the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


def _default_pool_size() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Service and engine settings; environment variables use the `SKILL_SCANNER_` prefix."""

    model_config = SettingsConfigDict(env_prefix="SKILL_SCANNER_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    allowed_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Folders `/scan`, `/scan-batch` and policy files may be read from "
        "(colon-separated in the environment); empty means no restriction.",
    )

    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(),
        description="Bearer tokens accepted by every endpoint but /health and the docs "
        "(comma-separated in the environment); empty means no authentication.",
    )
    public_docs: bool = Field(
        default=False,
        description="With API keys set, still serve /docs, /redoc and /openapi.json without one.",
    )
    allow_public: bool = Field(
        default=False,
        description="Start on a non-loopback address with neither allowed roots nor API keys.",
    )

    body_read_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Time allowed for a whole request body to arrive."
    )
    max_upload_bytes: int = Field(default=50 * MIB, gt=0)
    max_zip_entries: int = Field(default=500, gt=0)
    max_uncompressed_bytes: int = Field(default=200 * MIB, gt=0)
    max_json_body_bytes: int = Field(default=1 * MIB, gt=0)
    max_package_files: int = Field(default=2000, gt=0)
    max_file_bytes: int = Field(default=8 * MIB, gt=0, description="Bytes read from one file.")
    max_package_bytes: int = Field(default=200 * MIB, gt=0)
    temp_dir: Path | None = Field(default=None, description="Parent of per-request temp folders.")

    pool_size: int = Field(default_factory=_default_pool_size, ge=1, le=64)
    analyzer_timeout_seconds: float = Field(default=60.0, gt=0)
    max_active_scans: int | None = Field(
        default=None,
        ge=1,
        description="Scans that may hold a loaded skill at once (extracting, loading or "
        "being analyzed); the others wait their turn. Default: twice the pool size.",
    )
    worker_memory_mb: int = Field(default=1024, ge=64)
    plugin_modules: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Extra modules that register analyzers (comma-separated)."
    )

    batch_max_jobs: int = Field(default=1000, gt=0)
    batch_ttl_seconds: float = Field(default=3600.0, gt=0)
    batch_concurrency: int = Field(default=4, ge=1)
    batch_max_skills: int = Field(default=5000, gt=0)
    batch_max_result_bytes: int = Field(
        default=256 * MIB, gt=0, description="Serialized results kept across finished jobs."
    )

    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_base_url: str | None = None
    virustotal_api_key: SecretStr | None = Field(
        default=None, validation_alias="VIRUSTOTAL_API_KEY"
    )
    ai_defense_api_key: SecretStr | None = Field(
        default=None, validation_alias="AI_DEFENSE_API_KEY"
    )
    ai_defense_api_url: str | None = Field(default=None, validation_alias="AI_DEFENSE_API_URL")

    @field_validator("allowed_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(part).expanduser() for part in value.split(":") if part.strip())
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("plugin_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_roots")
    @classmethod
    def _resolve_roots(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(Path(os.path.realpath(root)) for root in value)
