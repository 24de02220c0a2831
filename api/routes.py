"""The HTTP endpoints: /health, /search, /ask, /ask/stream, /documents, and the chat page at /.

Every blocking call (retrieval, generation, index writes) runs in a worker thread, so /search and
/health answer while an answer is being generated. Answers go through `AnswerQueue`: one at a
time, a bounded number waiting, 503 + Retry-After beyond that. Does not build the Rag (see
`api/app.py`) nor decide anything about answers (see `rag/pipeline.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError

from api.errors import ApiError
from api.schemas import (
    NOT_BLANK,
    AskRequest,
    AskResponse,
    DocumentIn,
    DocumentsResponse,
    DocumentSummary,
    DocumentText,
    ErrorResponse,
    HealthResponse,
    SearchRequest,
    SearchResponse,
    WriteResponse,
)
from api.streaming import AnswerQueue, TicketStream, in_thread, stream_events
from rag.settings import Settings
from rag.types import Turn
from rag.wiring import Rag

log = logging.getLogger("api")
STATIC_DIR = Path(__file__).resolve().parent / "static"
T = TypeVar("T")

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 413, 422, 500, 503)
}


def current_rag(request: Request) -> Rag:
    """The app's Rag, or 503 while it is still loading or could not be built."""
    state = request.app.state
    if state.rag is not None:
        rag: Rag = state.rag
        return rag
    if state.rag_error is not None:
        # A fresh traceback each time: re-raising one instance would grow its traceback forever.
        raise state.rag_error.with_traceback(None)
    raise ApiError(
        503,
        "loading",
        "The index is still loading; try again in a few seconds.",
        {"Retry-After": "2"},
    )


def require_writer(request: Request) -> None:
    """Document writes need `Authorization: Bearer <RAG_API_KEY>`; no key configured = no writes."""
    settings: Settings = request.app.state.settings
    if not settings.api_key:
        raise ApiError(
            403,
            "writes_disabled",
            "Document writes are disabled on this server. To enable them, restart it with "
            "RAG_API_KEY set and send 'Authorization: Bearer <that key>'.",
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.strip().encode(), settings.api_key.encode()
    ):
        raise ApiError(
            401,
            "unauthorized",
            "Missing or wrong API key: send 'Authorization: Bearer <RAG_API_KEY>'.",
            {"WWW-Authenticate": "Bearer"},
        )


RagDep = Annotated[Rag, Depends(current_rag)]


def answer_queue(request: Request) -> AnswerQueue:
    queue: AnswerQueue = request.app.state.queue
    return queue


QueueDep = Annotated[AnswerQueue, Depends(answer_queue)]


# --- the chat page --------------------------------------------------------------------------
@router.get("/", include_in_schema=False)
async def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


# --- questions --------------------------------------------------------------------------------
@router.get("/health", response_model=HealthResponse, responses={503: {"model": ErrorResponse}})
async def health(rag: RagDep) -> HealthResponse:
    def probe() -> HealthResponse:
        stats = rag.stats()
        return HealthResponse(
            status="ok",
            documents=stats["documents"],
            chunks=stats["chunks"],
            embedder=rag.embedder_name,
            llm=rag.llm_name,
        )

    return await in_thread(probe)


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search(body: SearchRequest, rag: RagDep) -> SearchResponse:
    result = await in_thread(rag.search, body.query, top_k=body.top_k)
    return SearchResponse.model_validate(
        {"passages": [p.to_dict() for p in result.passages], "timings_ms": result.timings_ms}
    )


def _turns(body: AskRequest) -> tuple[Turn, ...]:
    return tuple(Turn(role=t.role, content=t.content) for t in body.history)


@router.post("/ask", response_model=AskResponse, responses=ERRORS)
async def ask(body: AskRequest, rag: RagDep, queue: QueueDep) -> AskResponse:
    async with queue.admit().turn():
        answer = await in_thread(rag.ask, body.question, history=_turns(body), top_k=body.top_k)
    return AskResponse.model_validate(answer.to_dict())


@router.post(
    "/ask/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    response_class=StreamingResponse,
)
async def ask_stream(body: AskRequest, rag: RagDep, queue: QueueDep) -> StreamingResponse:
    ticket = queue.admit()  # a full queue is a 503 before the stream starts
    make = partial(rag.ask_stream, body.question, history=_turns(body), top_k=body.top_k)
    return TicketStream(stream_events(ticket, make), ticket)


# --- documents ------------------------------------------------------------------------------
@router.get("/documents", response_model=DocumentsResponse, responses=ERRORS)
async def list_documents(rag: RagDep) -> DocumentsResponse:
    infos = await in_thread(rag.list_documents)
    return DocumentsResponse(documents=[DocumentSummary.model_validate(asdict(i)) for i in infos])


@router.get("/documents/{doc_id:path}", response_model=DocumentText, responses=ERRORS)
async def get_document(doc_id: str, rag: RagDep) -> DocumentText:
    text = await in_thread(rag.document_text, doc_id)
    return DocumentText(doc_id=doc_id, text=text)


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "contentMediaType": "text/plain",
                            "pattern": NOT_BLANK,
                            "description": "UTF-8 text.",
                        },
                        "doc_id": {
                            **DocumentIn.model_json_schema()["properties"]["doc_id"],
                            "description": "Default: the file's name, else upload-<sha256 "
                            "of the text, 12 hex digits>.txt.",
                        },
                    },
                    "required": ["file"],
                },
                "encoding": {"file": {"contentType": "text/plain, text/markdown, text/html"}},
            },
        },
    }
}


def _validated(data: object) -> DocumentIn:
    try:
        return DocumentIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


async def _read_document(request: Request) -> DocumentIn:
    """JSON `{"doc_id", "text"}`, or a multipart `file` named by a `doc_id` field, else by its
    file name."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, "malformed_json", f"The request body is not valid JSON: {exc}"
            ) from exc
        return _validated(data)
    if ctype == "multipart/form-data":
        form = await request.form()
        upload, named = form.get("file"), form.get("doc_id")
        if upload is None:
            raise ApiError(422, "invalid_input", "Send the document as a form field named 'file'.")
        if isinstance(upload, str):  # a text field rather than a file
            content, filename = upload.encode(), None
        else:
            content, filename = await upload.read(), upload.filename
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApiError(422, "invalid_input", f"{filename} is not UTF-8 text.") from exc
        # a document sent with no name at all is named by its content, and the reply says so
        default = filename or f"upload-{hashlib.sha256(content).hexdigest()[:12]}.txt"
        doc_id = named if isinstance(named, str) else default  # a doc_id given is checked
        return _validated({"doc_id": doc_id, "text": text})
    raise ApiError(
        415,
        "unsupported_media_type",
        'Send application/json {"doc_id", "text"} or multipart/form-data with a \'file\'.',
    )


@router.post(
    "/documents",
    response_model=WriteResponse,
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        415: {"model": ErrorResponse, "description": "Neither JSON nor a multipart upload."},
        **ERRORS,
    },
    dependencies=[Depends(require_writer)],
    openapi_extra=UPLOAD_BODY,
)
async def put_document(request: Request, rag: RagDep) -> WriteResponse:
    doc = await _read_document(request)
    async with request.app.state.write_lock:
        report = await in_thread(rag.put_document, doc.doc_id, doc.text)
    return _write_response(doc.doc_id, report)


@router.delete(
    "/documents/{doc_id:path}",
    response_model=WriteResponse,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, **ERRORS},
    dependencies=[Depends(require_writer)],
)
async def delete_document(doc_id: str, rag: RagDep, request: Request) -> WriteResponse:
    async with request.app.state.write_lock:
        report = await in_thread(rag.delete_document, doc_id)
    return _write_response(doc_id, report)


def _write_response(doc_id: str, report: Any) -> WriteResponse:
    # `report` is the index layer's BuildReport; api/ reaches the index only through rag/.
    return WriteResponse.model_validate({**asdict(report), "doc_id": doc_id})
