"""create_app(settings) -> FastAPI, and serve(): what `rag serve` runs.

The app builds its Rag once, in the background, when it starts (or takes one passed in, as the
tests do); until it is ready /health and the question endpoints answer 503 in the error shape.
`serve()` builds the index first when there is none, then runs uvicorn. Does not define endpoints
(`api/routes.py`) or error shapes (`api/errors.py`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.errors import ApiError, install_error_handlers
from api.routes import STATIC_DIR, router
from api.streaming import AnswerQueue
from rag.errors import RagError
from rag.settings import Settings, get_settings
from rag.types import LLM
from rag.wiring import Rag

log = logging.getLogger("api")


def _build_rag(settings: Settings) -> Rag:
    from rag.wiring import build_rag

    return build_rag(settings)


def _warm(rag: Rag) -> None:
    try:
        report = rag.warm()
    except Exception:  # a failed warm-up costs speed, not answers: questions still work
        log.exception("could not warm up the LLM's prompt states")
        return
    if report.passages:
        log.info("warmed %d passage prompt states in %.1f s", report.passages, report.seconds)


async def _load_rag(
    app: FastAPI, settings: Settings, build: Callable[[Settings], Rag], *, warm: bool
) -> None:
    try:
        app.state.rag = await anyio.to_thread.run_sync(build, settings)
        if warm:
            # in the background: questions are taken meanwhile (each waits for at most one
            # passage's prefill, see Rag.warm)
            app.state.warming = threading.Thread(target=_warm, args=(app.state.rag,), daemon=True)
            app.state.warming.start()
    except RagError as exc:
        log.error("could not load the index: %s", exc)
        app.state.rag_error = exc
    except Exception:
        log.exception("could not build the service")
        app.state.rag_error = ApiError(
            503, "startup_failed", "The service failed to start; see the server log."
        )


def create_app(
    settings: Settings,
    rag: Rag | None = None,
    *,
    build: Callable[[Settings], Rag] = _build_rag,
    warm: bool = False,
) -> FastAPI:
    """The HTTP app. With `rag` given it is used as is; otherwise `build(settings)` makes one in
    the background at start-up, so the server answers (503, "loading") at once. `warm` then
    starts `Rag.warm()` in the background too (what `rag serve` does, per `llm_warm`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.write_lock = asyncio.Lock()
        app.state.queue = AnswerQueue(settings.queue_size)
        loading = (
            None
            if app.state.rag is not None
            else asyncio.create_task(_load_rag(app, settings, build, warm=warm))
        )
        yield
        if loading is not None and not loading.done():
            loading.cancel()
        if app.state.warming is not None:
            app.state.rag.stop_warm()
            await anyio.to_thread.run_sync(app.state.warming.join)

    app = FastAPI(
        title="rag",
        summary="Questions about the corpus, answered with exact, checked citations.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from swagger-ui-bundle: FastAPI's default pulls a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.rag = rag
    app.state.rag_error = None
    app.state.warming = None  # the thread of Rag.warm(), when `warm`
    # Also set here so that routes work for clients that skip the lifespan (plain TestClient(app)).
    app.state.write_lock = asyncio.Lock()
    app.state.queue = AnswerQueue(settings.queue_size)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _offline_docs(app)
    install_error_handlers(app, max_body_bytes=settings.max_body_bytes)
    return app


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the files of the `swagger-ui-bundle` package, so the API docs
    work without the network, like the chat page."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="rag API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn's import string (`--workers N`): each worker reads the environment."""
    settings = get_settings()
    return create_app(settings, warm=settings.llm_warm)


def workers_refusal(settings: Settings, workers: int) -> str | None:
    """Why `workers` cannot run with these settings, with what to do instead; None if it can."""
    if workers < 1:
        return "--workers must be at least 1."
    if workers > 1 and not settings.chroma_url:
        return (
            f"--workers {workers} needs a Chroma server: the embedded store is not safe across "
            "processes (each worker would open the same files, and one worker's writes would "
            "corrupt or never reach the others). Start one Chroma server as the single writer, "
            f"e.g. `chroma run --path {settings.data_dir}/chroma-server --port 8001`, then set "
            "RAG_CHROMA_URL=http://127.0.0.1:8001 and run `rag index` and `rag serve` again; "
            "or serve with --workers 1."
        )
    return None


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on, checked before minutes of indexing; None if free."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port"
    return None


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> int:
    """Build the index if there is none, print the address, and serve until interrupted."""
    import uvicorn

    from rag.wiring import build_rag, claim_folder, ensure_index, keep_llm_prefix, load_embedder

    if (why := workers_refusal(settings, workers)) is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    claim_folder(settings)  # a second process on this folder gets a clear error instead
    if (busy := port_problem(host, port)) is not None:
        print(f"error: {busy}", file=sys.stderr)
        return 2
    embedder = load_embedder(settings)  # loaded once: for the build and for the app
    llm: LLM | None = None  # loaded at start only to keep its prompt state (below)
    report = ensure_index(settings, embedder=embedder)
    if report is not None:
        print(f"Built the index: {report.summary()}", flush=True)
        # a new folder (a fresh clone's `make run`): the model's fixed prompt state is
        # index-time work too, so that the first question does not wait for it
        try:
            if settings.llm_warm and (llm := keep_llm_prefix(settings)) is not None:
                print("Kept the model's prompt state for the next starts.", flush=True)
        except RagError as e:  # costs the first answer's speed; /ask reports the error itself
            print(f"warning: {e}", file=sys.stderr, flush=True)
    print(f"Serving on http://{host}:{port}  (chat page at /, API docs at /docs)", flush=True)
    if workers == 1:
        app = create_app(
            settings,
            build=lambda s: build_rag(s, embedder=embedder, llm=llm),
            warm=settings.llm_warm,
        )
        uvicorn.run(app, host=host, port=port, log_level="info")
    else:
        uvicorn.run(
            "api.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )
    return 0
