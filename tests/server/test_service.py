"""GET endpoints: index, health, analyzers, OpenAPI and the documentation pages."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from scanner import __version__


async def test_index_names_service_and_links(client):
    resp = await client.get("/")

    body = await resp.json()
    assert resp.status == 200
    assert body == {
        "service": "skill-scanner",
        "version": __version__,
        "docs": "/docs",
        "redoc": "/redoc",
        "openapi": "/openapi.json",
        "health": "/health",
    }


async def test_health_reports_sandbox_state(client):
    resp = await client.get("/health")

    body = await resp.json()
    assert resp.status == 200
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["sandbox"]["size"] == 2
    assert body["sandbox"]["workers_alive"] == 2
    assert body["sandbox"]["tasks_running"] == 0
    assert {"signatures", "manifest", "unicode", "files"} <= set(body["analyzers_available"])


async def test_analyzers_lists_real_rule_counts_and_missing_flags(client):
    resp = await client.get("/analyzers")

    items = {a["name"]: a for a in (await resp.json())["analyzers"]}
    assert resp.status == 200
    assert items["signatures"]["available"] is True
    assert items["signatures"]["rule_count"] >= 30
    assert items["signatures"]["activation"]["kind"] == "default"
    assert items["behavioral"]["available"] is True
    assert items["behavioral"]["activation"] == {"kind": "flag", "detail": "use_behavioral"}
    assert items["behavioral"]["rule_count"] == 9
    assert items["llm"]["available"] is False
    assert items["llm"]["activation"]["detail"] == "use_llm"


async def test_openapi_document_is_valid_3_1_and_lists_every_endpoint(client):
    resp = await client.get("/openapi.json")

    doc = await resp.json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/",
        "/health",
        "/analyzers",
        "/scan",
        "/scan-upload",
        "/scan-batch",
        "/scan-batch/{scan_id}",
    }
    assert all("head" not in ops for ops in doc["paths"].values())
    upload = doc["paths"]["/scan-upload"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"]["format"] == "binary"
    assert {"use_llm", "policy", "lenient"} <= set(form["properties"])
    assert "ScanResult" in doc["components"]["schemas"]


async def test_swagger_and_redoc_load_assets_from_this_server(client):
    for page in ("/docs", "/redoc"):
        resp = await client.get(page)
        html = await resp.text()
        assert resp.status == 200
        assert resp.content_type == "text/html"
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert all(src.startswith("/") for src in sources), sources
        for src in sources:
            asset = await client.get(src)
            assert asset.status == 200, src
            assert len(await asset.read()) > 100


async def test_swagger_assets_are_real_swagger_ui(client):
    resp = await client.get("/docs/assets/swagger-ui-bundle.js")

    text = await resp.text()
    assert resp.status == 200
    assert "SwaggerUIBundle" in text
    assert resp.content_type == "application/javascript"


async def test_unknown_asset_and_route_are_json_404(client):
    for path in ("/docs/assets/../../etc/passwd", "/docs/assets/nope.js", "/nowhere"):
        resp = await client.get(path)
        body = await resp.json()
        assert resp.status == 404
        assert body["error"]["code"] == "not_found"


async def test_wrong_method_is_json_405(client):
    resp = await client.get("/scan")

    body = await resp.json()
    assert resp.status == 405
    assert body["error"]["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]


async def test_responses_carry_security_headers(client):
    resp = await client.get("/health")

    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_redoc_bundle_is_a_classic_script_without_module_syntax(client):
    resp = await client.get("/docs/assets/redoc.standalone.js")

    text = await resp.text()
    assert resp.status == 200
    assert "import.meta" not in text
    assert "Redoc" in text


async def test_docs_pages_forbid_loading_anything_from_elsewhere(client):
    for page in ("/docs", "/redoc"):
        resp = await client.get(page)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "img-src 'self' data:" in csp
        assert "connect-src 'self'" in csp


async def test_foreign_host_header_is_refused_on_loopback(client):
    resp = await client.get("/health", headers={"Host": "attacker.example"})

    body = await resp.json()
    assert resp.status == 403
    assert body["error"]["code"] == "forbidden"


async def test_localhost_host_names_are_served(client):
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        resp = await client.get("/health", headers={"Host": host})
        assert resp.status == 200, host


async def test_cross_origin_post_is_refused(client):
    resp = await client.post(
        "/scan", json={"skill_directory": "/x"}, headers={"Origin": "https://evil.example"}
    )

    assert resp.status == 403
    assert "cross-origin" in (await resp.json())["error"]["message"]


async def test_same_origin_post_from_swagger_is_served(client):
    host = f"{client.host}:{client.port}"

    resp = await client.post(
        "/scan", json={"skill_directory": "relative"}, headers={"Origin": f"http://{host}"}
    )

    assert resp.status == 422
