"""The answer queue and the SSE stream of an answer.

`AnswerQueue`: the LLM answers one question at a time, `size` more may wait, and beyond that the
caller gets BusyError (503 + Retry-After). `stream_events` drives the blocking `Rag.ask_stream`
generator one event per worker-thread hop and frames each event as server-sent events. Does not
define endpoints (`api/routes.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import anyio
from fastapi.responses import StreamingResponse

from api.errors import error_body
from api.schemas import AskResponse
from rag.errors import BusyError, RagError
from rag.types import DoneEvent, StreamEvent, TokenEvent

log = logging.getLogger("api")
T = TypeVar("T")


class AnswerQueue:
    """The LLM answers one question at a time; `size` more may wait; beyond that, BusyError.

    Waiting happens on an asyncio lock, not in a worker thread, so a queue of waiting questions
    holds no threads that /search and /health need. Lives in one event loop (one worker)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.admitted = 0
        self._lock = asyncio.Lock()
        self._seconds_per_answer = 5.0  # first guess, then a moving average

    def admit(self) -> Ticket:
        if self.admitted >= self.size + 1:
            wait = self._seconds_per_answer * (self.admitted - self.size)
            # spread over [wait, 2 * wait]: clients turned away together and told one time
            # came back together, and their searches queued behind each other (issue 25)
            raise BusyError(
                f"The model is busy and {self.size} questions are waiting; try again shortly.",
                retry_after=max(1, math.ceil(wait * (1 + random.random()))),
            )
        self.admitted += 1
        return Ticket(self)

    def _record(self, seconds: float) -> None:
        self._seconds_per_answer = 0.7 * self._seconds_per_answer + 0.3 * seconds


class Ticket:
    """A place in the queue: `turn()` waits for the LLM; `release()` gives the place back (once)."""

    def __init__(self, queue: AnswerQueue) -> None:
        self.queue = queue
        self._released = False

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with self.queue._lock:
                t0 = time.monotonic()
                yield
                self.queue._record(time.monotonic() - t0)
        finally:
            self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.queue.admitted -= 1


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(func, *args, **kwargs))


def sse(event: str, data: dict[str, Any]) -> str:
    # json.dumps never emits a raw newline, so one `data:` line carries the whole payload.
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class TicketStream(StreamingResponse):
    """A streaming response that gives its queue place back however the stream ends."""

    def __init__(self, content: AsyncIterator[str], ticket: Ticket) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.ticket = ticket

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.ticket.release()


def _next_event(events: Iterator[StreamEvent]) -> StreamEvent | None:
    return next(events, None)


async def stream_events(
    ticket: Ticket, make: Callable[[], Iterator[StreamEvent]]
) -> AsyncIterator[str]:
    """Drive the blocking generator one event per worker-thread hop and frame each as SSE."""
    async with ticket.turn():
        events = make()
        try:
            while (event := await in_thread(_next_event, events)) is not None:
                if isinstance(event, TokenEvent):
                    yield sse("token", {"text": event.text})
                elif isinstance(event, DoneEvent):
                    yield sse(
                        "done", AskResponse.model_validate(event.answer.to_dict()).model_dump()
                    )
        except RagError as exc:
            yield sse("error", error_body(exc.code, str(exc) or exc.code))
        except Exception:
            log.exception("unexpected error while streaming an answer")
            yield sse(
                "error",
                error_body("internal_error", "Unexpected server error; it has been logged."),
            )
        finally:
            # Stops generation when the client went away (GeneratorExit at the next token),
            # which also frees the LLM for the next question.
            close = getattr(events, "close", None)
            if close is not None:
                close()
