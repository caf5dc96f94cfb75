"""Typed errors of the scanner: each carries a stable code and its HTTP status.

The server's error middleware renders any `ScannerError` as
`{"error": {"code", "message", "scan_id"}}`; the CLI maps it to exit code 2.
Messages are written for the person who sent the request: they say what was
wrong and what to do, and never echo file contents or internal paths.
"""

from __future__ import annotations

from typing import ClassVar


class ScannerError(Exception):
    """Base of every deliberate error; `code` and `http_status` are public API."""

    code: ClassVar[str] = "scanner_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequestError(ScannerError):
    """The request itself is malformed (bad JSON, wrong field types, missing part)."""

    code = "bad_request"
    http_status = 400


class ValidationError(ScannerError):
    """A request field has a value of the wrong type or outside its range."""

    code = "validation_error"
    http_status = 422


class InvalidArchiveError(ScannerError):
    """The upload is not a ZIP archive that can be read safely."""

    code = "invalid_archive"
    http_status = 400


class UnsafeArchiveError(ScannerError):
    """The archive holds a member that would escape or alias the extraction folder."""

    code = "unsafe_archive"
    http_status = 400


class PackageTooLargeError(ScannerError):
    """An upload, archive or skill folder crosses a configured size or count limit."""

    code = "too_large"
    http_status = 413


class UnsupportedMediaError(ScannerError):
    """The request body has a content type the endpoint does not accept."""

    code = "unsupported_media_type"
    http_status = 415


class InvalidPackageError(ScannerError):
    """The folder cannot be scanned as a skill (missing, not a folder, unreadable)."""

    code = "invalid_package"
    http_status = 422


class InvalidManifestError(ScannerError):
    """SKILL.md frontmatter is missing or broken and the policy rejects such skills."""

    code = "invalid_manifest"
    http_status = 422


class PolicyError(ScannerError):
    """A policy name is unknown or a policy file fails validation."""

    code = "invalid_policy"
    http_status = 422


class UnknownAnalyzerError(ScannerError):
    """A request asks for an analyzer that this build does not provide."""

    code = "analyzer_unavailable"
    http_status = 400


class PathNotAllowedError(ScannerError):
    """The path lies outside the configured allowed roots.

    The message never says whether the path exists.
    """

    code = "path_not_allowed"
    http_status = 403


class UnauthorizedError(ScannerError):
    """API keys are configured and the request carries none, or a wrong one."""

    code = "unauthorized"
    http_status = 401


class ForbiddenRequestError(ScannerError):
    """The request comes from a host name or origin the server does not serve."""

    code = "forbidden"
    http_status = 403


class ExposureError(ScannerError):
    """The server would listen publicly with nothing confining what it reads."""

    code = "unsafe_exposure"
    http_status = 500


class ListenError(ScannerError):
    """The server cannot listen on the address it was given (in use, not local, denied)."""

    code = "cannot_listen"
    http_status = 500


class ScanNotFoundError(ScannerError):
    """No batch job has this id (never created, or expired after its TTL)."""

    code = "scan_not_found"
    http_status = 404


class SandboxUnavailableError(ScannerError):
    """The analysis sandbox is not running or is shutting down."""

    code = "sandbox_unavailable"
    http_status = 503


class StoreFullError(ScannerError):
    """The batch job store holds only live jobs and cannot take another."""

    code = "job_store_full"
    http_status = 503


class RequestTimeoutError(ScannerError):
    """The request body did not arrive within the server's read timeout."""

    code = "request_timeout"
    http_status = 408
