"""Build the aiohttp application and run it."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from scanner._heap import return_large_buffers
from scanner.batch.runner import BatchRunner
from scanner.batch.store import MemoryJobStore
from scanner.core.errors import ExposureError, ListenError
from scanner.engine import Engine
from scanner.server import handlers
from scanner.server._protocol import install_json_protocol_errors
from scanner.server.keys import BATCH_KEY, ENGINE_KEY, SETTINGS_KEY, STORE_KEY
from scanner.server.middlewares import (
    error_middleware,
    headers_middleware,
    make_auth_guard,
    make_origin_guard,
)
from scanner.server.openapi import ASSETS, REDOC_PAGE, SWAGGER_INIT, SWAGGER_PAGE, openapi_document
from scanner.settings import Settings

logger = logging.getLogger(__name__)

# In-flight requests get this long after SIGTERM/SIGINT before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 10.0


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# SECURITY: the documentation pages may only load what this server serves, so a
# viewer never reaches the internet (telemetry, logos, fonts) and injected markup
# in a schema description cannot pull scripts from elsewhere.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _docs_page(html: str) -> web.Response:
    return web.Response(
        text=html, content_type="text/html", headers={"Content-Security-Policy": DOCS_CSP}
    )


async def _swagger(request: web.Request) -> web.Response:
    return _docs_page(SWAGGER_PAGE)


async def _swagger_init(request: web.Request) -> web.Response:
    return web.Response(text=SWAGGER_INIT, content_type="application/javascript")


async def _redoc(request: web.Request) -> web.Response:
    return _docs_page(REDOC_PAGE)


async def _asset(request: web.Request) -> web.StreamResponse:
    entry = ASSETS.get(request.match_info["name"])
    if entry is None:
        raise web.HTTPNotFound
    package, parts, content_type = entry
    path = handlers.static_path(package, *parts)
    response = web.FileResponse(path, headers={"Content-Type": content_type})
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


async def _stop_batches(app: web.Application) -> None:
    # NOTE: on_shutdown runs as soon as the server stops accepting connections, so
    # running batches stop starting new skills instead of running to the end.
    await app[BATCH_KEY].close()


def add_routes(app: web.Application) -> None:
    """Register every endpoint of the API on an application."""
    app.router.add_get("/", handlers.index)
    app.router.add_get("/health", handlers.health)
    app.router.add_get("/analyzers", handlers.analyzers)
    app.router.add_post("/scan", handlers.scan)
    app.router.add_post("/scan-upload", handlers.scan_upload)
    app.router.add_post("/scan-batch", handlers.scan_batch)
    app.router.add_get("/scan-batch/{scan_id}", handlers.batch_status)
    app.router.add_delete("/scan-batch/{scan_id}", handlers.cancel_batch)
    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/docs", _swagger)
    app.router.add_get("/docs/swagger-init.js", _swagger_init)
    app.router.add_get("/docs/assets/{name}", _asset)
    app.router.add_get("/redoc", _redoc)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE_KEY]
    await engine.start()
    logger.info("sandbox started", extra={"status": "up"})
    try:
        yield
    finally:
        await app[BATCH_KEY].close()
        await engine.close()
        logger.info("sandbox stopped", extra={"status": "down"})


def is_loopback(host: str) -> bool:
    """Return True when a listen address only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(settings: Settings | None = None) -> web.Application:
    """Build the application; the sandbox starts and stops with it."""
    settings = settings or Settings()
    middlewares: list[Middleware] = [error_middleware, headers_middleware]
    middlewares.append(make_origin_guard(loopback_only=is_loopback(settings.host)))
    if settings.api_keys:
        keys = tuple(key.get_secret_value() for key in settings.api_keys)
        middlewares.append(make_auth_guard(keys, public_docs=settings.public_docs))
    app = web.Application(
        middlewares=middlewares,
        client_max_size=settings.max_json_body_bytes,
    )
    engine = Engine(settings)
    store = MemoryJobStore(
        settings.batch_max_jobs, settings.batch_ttl_seconds, settings.batch_max_result_bytes
    )
    app[SETTINGS_KEY] = settings
    app[ENGINE_KEY] = engine
    app[STORE_KEY] = store
    app[BATCH_KEY] = BatchRunner(engine, store, settings.batch_concurrency)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_stop_batches)
    add_routes(app)
    return app


def check_exposure(settings: Settings) -> None:
    """Refuse to serve a non-loopback address with no confinement and no keys.

    Raises:
        ExposureError: the address is public and nothing limits what callers can read.
    """
    if is_loopback(settings.host) or settings.allow_public:
        return
    if settings.allowed_roots or settings.api_keys:
        return
    raise ExposureError(
        f"refusing to listen on {settings.host}: anyone who can reach it could make the "
        "server read any folder on this machine. Set SKILL_SCANNER_ALLOWED_ROOTS and/or "
        "SKILL_SCANNER_API_KEYS, or SKILL_SCANNER_ALLOW_PUBLIC=true if that is intended."
    )


def run_server(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Serve the API until interrupted; with `reload`, restart on code changes."""
    if reload:
        _run_with_reload(host, port)
        return
    settings = Settings(host=host, port=port)
    check_exposure(settings)
    install_json_protocol_errors()
    return_large_buffers()
    try:
        web.run_app(
            create_app(settings),
            host=host,
            port=port,
            print=None,
            access_log=None,
            shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
            # A client that goes away cancels its scan, which frees its sandbox worker.
            handler_cancellation=True,
        )
    except OSError as exc:
        reason = listen_failure(exc, host, port)
        if reason is None:
            raise
        raise ListenError(reason) from exc


def listen_failure(exc: OSError, host: str, port: int) -> str | None:
    """Return why the server could not listen, or None if `exc` is about something else."""
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host}: the name does not resolve ({exc.strerror})"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: the address is not one of this machine's"
    if exc.errno == errno.EACCES:
        return f"cannot listen on port {port} on {host}: permission denied"
    return None


def _serve_child(host: str, port: int) -> None:
    from scanner import logs

    logs.configure(json_lines=True)
    run_server(host, port, reload=False)


def _run_with_reload(host: str, port: int) -> None:
    try:
        import watchfiles
    except ImportError:
        sys.exit("--reload needs the development extra: pip install 'skill-scanner[dev]'")
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    watchfiles.run_process(
        root / "scanner",
        root / "sandbox",
        root / "policies",
        target=_serve_child,
        args=(host, port),
    )
