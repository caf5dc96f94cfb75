"""API keys, and the refusal to serve publicly with nothing confining reads."""

from __future__ import annotations

import errno
import socket

import pytest

from scanner.core.errors import ExposureError
from scanner.server.app import check_exposure, is_loopback, listen_failure
from scanner.settings import Settings


async def test_api_key_is_required_on_everything_but_health(make_client):
    client = await make_client(api_keys=("k-one", "k-two"))

    health = await client.get("/health")
    docs = await client.get("/docs")
    spec = await client.get("/openapi.json")
    missing = await client.get("/analyzers")
    wrong = await client.get("/analyzers", headers={"Authorization": "Bearer nope"})
    right = await client.get("/analyzers", headers={"Authorization": "Bearer k-two"})

    assert health.status == 200
    assert docs.status == 401
    assert spec.status == 401
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await missing.json())["error"]["code"] == "unauthorized"
    assert wrong.status == 401
    assert right.status == 200


async def test_docs_can_be_made_public_while_the_api_stays_protected(make_client):
    client = await make_client(api_keys=("k",), public_docs=True)

    for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
        assert (await client.get(path)).status == 200, path
    assert (await client.get("/analyzers")).status == 401


async def test_scan_needs_the_key_too(make_client):
    client = await make_client(api_keys=("secret-key",))

    resp = await client.post("/scan", json={"skill_directory": "/x"})

    assert resp.status == 401
    assert "secret-key" not in await resp.text()


async def test_openapi_declares_the_bearer_scheme(client):
    doc = await (await client.get("/openapi.json")).json()

    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_settings_split_keys_from_the_environment(monkeypatch):
    monkeypatch.setenv("SKILL_SCANNER_API_KEYS", "a1, b2,,")

    keys = [k.get_secret_value() for k in Settings().api_keys]

    assert keys == ["a1", "b2"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("", False), ("10.0.0.5", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_public_address_without_roots_or_keys_is_refused():
    with pytest.raises(ExposureError, match="SKILL_SCANNER_ALLOWED_ROOTS"):
        check_exposure(Settings(host="0.0.0.0"))


@pytest.mark.parametrize(
    "extra",
    [{"api_keys": ("k",)}, {"allowed_roots": ("/srv",)}, {"allow_public": True}],
)
def test_public_address_is_allowed_with_confinement_keys_or_consent(extra):
    check_exposure(Settings(host="0.0.0.0", **extra))


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (OSError(errno.EADDRINUSE, "address in use"), "port 8000 on ::1 is in use"),
        (
            OSError(errno.EADDRNOTAVAIL, "cannot assign"),
            "cannot listen on ::1: the address is not one of this machine's",
        ),
        (
            OSError(errno.EACCES, "denied"),
            "cannot listen on port 8000 on ::1: permission denied",
        ),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "cannot listen on ::1: the name does not resolve (Name or service not known)",
        ),
        (OSError(errno.EMFILE, "too many open files"), None),
    ],
)
def test_listen_failure_names_bind_errors_and_leaves_others(exc, reason):
    assert listen_failure(exc, "::1", 8000) == reason
