"""Middlewares: every error leaves as JSON, and a few security headers."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from scanner.core.errors import (
    ForbiddenRequestError,
    ScannerError,
    StoreFullError,
    UnauthorizedError,
)
from scanner.logs import scan_id_var
from scanner.server.schemas import ErrorDetail, ErrorResponse

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}

RETRY_AFTER_SECONDS = 30


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Return the JSON error body every failure uses."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, scan_id=scan_id_var.get()))
    return web.json_response(
        body.model_dump(mode="json"), status=status, headers=headers, dumps=_dumps
    )


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _http_message(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return "no such endpoint; see /docs for the list"
    if exc.status == 405:
        return f"method not allowed here; allowed: {exc.headers.get('Allow', '')}".rstrip(": ")
    if exc.status == 413:
        return "the request body is larger than this endpoint accepts"
    return exc.reason


def _headers_for(exc: ScannerError) -> dict[str, str] | None:
    if isinstance(exc, StoreFullError):
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if isinstance(exc, UnauthorizedError):
        return {"WWW-Authenticate": 'Bearer realm="skill-scanner"'}
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render `ScannerError`, HTTP errors and crashes as JSON error bodies."""
    try:
        return await handler(request)
    except ScannerError as exc:
        return error_response(exc.http_status, exc.code, exc.message, _headers_for(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, code, _http_message(exc), headers)
    except Exception:
        logger.exception("request failed", extra={"path": request.path})
        return error_response(500, "internal", "internal error; the server log has the details")


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# Always reachable without a key: liveness for orchestrators.
PUBLIC_PATHS = frozenset({"/health"})
# Reachable without a key only when the operator makes the documentation public.
DOCS_PATHS = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/swagger-init.js"})
DOCS_PREFIXES = ("/docs/assets/",)


def make_auth_guard(keys: tuple[str, ...], *, public_docs: bool) -> Middleware:
    """Require `Authorization: Bearer <key>` on every endpoint but /health (and docs)."""
    encoded = [key.encode() for key in keys]

    def _public(path: str) -> bool:
        if path in PUBLIC_PATHS:
            return True
        return public_docs and (path in DOCS_PATHS or path.startswith(DOCS_PREFIXES))

    def _accepted(header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        # SECURITY: compare in constant time and against every key, so timing tells
        # nothing about which key or how much of it matched.
        given = token.strip().encode()
        return any([hmac.compare_digest(given, key) for key in encoded])  # noqa: C419

    @web.middleware
    async def auth_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _public(request.path) and not _accepted(request.headers.get("Authorization", "")):
            raise UnauthorizedError(
                "send an API key as 'Authorization: Bearer <key>' (SKILL_SCANNER_API_KEYS)"
            )
        return await handler(request)

    return auth_guard


def _is_cross_origin(request: web.Request, host: str) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    return urlsplit(origin).netloc.lower() != host.lower()


def make_origin_guard(*, loopback_only: bool) -> Middleware:
    """Refuse requests a web page could forge against a local server.

    SECURITY: a server on loopback answers only to loopback host names, which stops
    DNS rebinding (a page on attacker.example resolving to 127.0.0.1); and a request
    that carries an `Origin` from another site is refused, since a browser sends
    cross-site form posts (multipart uploads) without asking first.
    """

    @web.middleware
    async def origin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if loopback_only and _host_name(host).lower() not in LOOPBACK_NAMES:
            raise ForbiddenRequestError(
                "this server only answers to localhost names; the Host header names another"
            )
        if _is_cross_origin(request, host):
            raise ForbiddenRequestError(
                "cross-origin requests are refused; call the API from its own origin"
            )
        return await handler(request)

    return origin_guard


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add headers that stop browsers from sniffing or framing API answers."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
