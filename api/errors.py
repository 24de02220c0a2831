"""One JSON error shape for every error: `{"error": {"code": "...", "message": "..."}}`.

Maps `RagError` classes to HTTP statuses, turns FastAPI/Starlette errors (validation, malformed
JSON, unknown route, wrong method) into the same shape, caps request bodies (413), and catches
anything unexpected as a 500 that is logged, never shown: no traceback ever reaches a client.
Does not decide what is an error in the domain: `rag/errors.py` does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import (
    BusyError,
    ConfigError,
    DocumentNotFoundError,
    EvalDataError,
    IndexDamagedError,
    IndexMissingError,
    InvalidInputError,
    LLMError,
    ModelError,
    RagError,
)

log = logging.getLogger("api")

# Most specific first; the base class catches anything new added to the tree later.
RAG_STATUS: list[tuple[type[RagError], int]] = [
    (IndexMissingError, 503),
    (IndexDamagedError, 503),
    (BusyError, 503),
    (ModelError, 503),  # the model cannot be loaded: the service cannot answer, retrying may help
    (LLMError, 502),  # an upstream (local or remote) model failed
    (InvalidInputError, 422),
    (EvalDataError, 422),
    (DocumentNotFoundError, 404),
    (ConfigError, 500),
    (RagError, 500),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "unavailable",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def status_for(exc: RagError) -> int:
    return next(status for cls, status in RAG_STATUS if isinstance(exc, cls))


def rag_error_response(exc: RagError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else None
    return error_response(status_for(exc), exc.code, str(exc) or exc.code, headers)


class ApiError(HTTPException):
    """An HTTP-level error raised by the API itself, with its own stable `code`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code


def _describe_validation(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e.get("ctx", {}) for e in errors if e.get("type") == "json_invalid")
        detail = ctx.get("error", "not valid JSON") if isinstance(ctx, dict) else "not valid JSON"
        return error_response(
            400, "malformed_json", f"The request body is not valid JSON: {detail}"
        )
    return error_response(422, "invalid_input", _describe_validation(errors))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = getattr(exc, "code", None) or HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"No such endpoint: {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = ", ".join(_allowed(request))
    return error_response(exc.status_code, code, message, headers)


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette names only the first route's, so
    GET /documents/{id} hid DELETE /documents/{id}. Included routers are walked into (FastAPI
    wraps them, under `original_router` in recent versions)."""
    methods: set[str] = set()
    stack: list[Any] = list(request.app.router.routes)
    while stack:
        route = stack.pop()
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        if inner is not None:
            stack.extend(inner)
        elif getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


async def _on_rag(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    if status_for(exc) >= 500 and not isinstance(exc, BusyError | IndexMissingError):
        log.warning("%s %s failed: %s: %s", request.method, request.url.path, exc.code, exc)
    return rag_error_response(exc)


def install_error_handlers(app: FastAPI, *, max_body_bytes: int) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(RagError, _on_rag)
    # Added last so it wraps the others: it sees the raw body before any route reads it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(CatchAllMiddleware)


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once from Content-Length, or while counting a streamed
    (chunked) body, since Content-Length may be absent or lie."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = ApiError(
            413, "body_too_large", f"The request body is over the limit of {self.max_bytes} bytes."
        )
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, too_big.code, str(too_big.detail))
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException passes FastAPI's body parsing untouched and is answered by
                    # the HTTP handler in the one shape.
                    raise too_big
            return message

        await self.app(scope, counting_receive, send)


class CatchAllMiddleware:
    """Anything that escapes the handlers becomes a logged 500 in the error shape. Starlette's own
    catch-all re-raises after answering; this one answers and stops, so the traceback is logged
    once, server-side."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late to change the status; the client sees a cut-off body
                return
            response = error_response(
                500, "internal_error", "Unexpected server error; it has been logged."
            )
            await response(scope, receive, send)
