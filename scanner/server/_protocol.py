"""Answer aiohttp's own protocol errors as JSON, like every other error.

aiohttp rejects a request it cannot parse (a request line or header over its
size limit, a malformed chunk) before the application sees it, with a
text/plain body. `run_server` installs this so those answers carry the same
`{"error": {...}}` body as the rest of the API.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web, web_protocol

_MESSAGES = {
    400: ("bad_request", "the request could not be parsed (malformed, or a request line or "
          "header over the size limit)"),
    413: ("too_large", "the request is larger than this server accepts"),
    500: ("internal", "internal error; the server log has the details"),
    504: ("timeout", "the request took too long"),
}  # fmt: skip

_original_handle_error = web_protocol.RequestHandler.handle_error


def _json_handle_error(self: web_protocol.RequestHandler, *args: Any, **kwargs: Any) -> Any:
    # NOTE: the original logs the error and refuses once bytes were sent; keep both.
    plain = _original_handle_error(self, *args, **kwargs)
    code, message = _MESSAGES.get(plain.status, ("http_error", "the request failed"))
    body = json.dumps({"error": {"code": code, "message": message, "scan_id": None}})
    response = web.Response(status=plain.status, text=body, content_type="application/json")
    response.force_close()
    return response


def install_json_protocol_errors() -> None:
    """Make this process's aiohttp servers answer protocol errors in JSON."""
    web_protocol.RequestHandler.handle_error = _json_handle_error  # type: ignore[method-assign]
