"""The chat page in Debian's Chromium (Playwright) against a live uvicorn server on the fakes: a
streamed answer with a clickable citation whose span is highlighted, the refusal style, history,
keyboard use, errors shown in the page, and phone width. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTICLE_PATH, serve_in_thread
from fakes import FakeLLM

from api.app import create_app
from rag.prompts import REFUSAL_RU

pytestmark = pytest.mark.real

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def quote_first_fragment(messages: list[dict[str, str]]) -> str:
    """The first sentence of fragment [1], cited: an answer the citation check must keep as is."""
    prompt = messages[-1]["content"]
    if "погод" in prompt:
        return REFUSAL_RU
    found = re.search(r"^\[1\] (.+?)[.!?…](?:\s|$)", prompt, re.MULTILINE)
    assert found, "the prompt has no fragment [1]"
    return f"{found.group(1)} [1]."


class SlowLLM(FakeLLM):
    """Refuses weather questions, otherwise quotes fragment [1]; streams slowly enough to see."""

    def __init__(self) -> None:
        super().__init__(quote_first_fragment)
        self.last = ""

    def _next(self, messages: list[dict[str, str]]) -> str:
        self.last = super()._next(messages)
        return self.last

    def stream(self, messages: list[dict[str, str]], *, max_tokens: int = 200) -> Iterator[str]:
        for piece in super().stream(messages, max_tokens=max_tokens):
            time.sleep(0.12)
            yield piece


@pytest.fixture
def llm() -> SlowLLM:
    return SlowLLM()


@pytest.fixture
def server(make_fake_rag: Callable[..., Any], llm: SlowLLM) -> Iterator[str]:
    rag = make_fake_rag(llm)
    with serve_in_thread(create_app(rag.settings, rag=rag)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="ru-RU")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # Offline by construction: any request that leaves the test server fails the test.
    outside: list[str] = []
    pg.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server)
            else (outside.append(route.request.url), route.abort())
        ),
    )
    pg.goto(server + "/")
    yield pg
    context.close()
    assert errors == [], errors
    assert outside == [], outside


def ask(page: Any, question: str) -> Any:
    """Types the question, presses Enter, returns the locator of the new answer."""
    count = page.get_by_test_id("answer").count()
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")
    return page.get_by_test_id("answer").nth(count)


def test_page__streams_an_answer_and_shows_the_cited_span(page: Any, llm: SlowLLM) -> None:
    answer = ask(page, "Где пройдёт саммит?")
    # While tokens arrive the text grows before the final answer replaces it.
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=answer]');"
        " return a && a.classList.contains('streaming') && a.textContent.length > 0; }"
    )
    cite = answer.get_by_test_id("cite-1")
    cite.wait_for(timeout=10_000)
    assert "streaming" not in (answer.get_attribute("class") or "")
    assert answer.get_by_test_id("answer-text").inner_text() == llm.last
    assert re.fullmatch(
        r"[\d.]+ m?s · first words .+ · generate .+", answer.get_by_test_id("timings").inner_text()
    )
    assert answer.get_by_test_id("refusal-label").count() == 0

    cite.click()
    mark = page.get_by_test_id("source-mark")
    mark.wait_for()
    quote = cite.get_attribute("title")
    assert quote and mark.inner_text() == quote
    assert page.get_by_test_id("source-panel").is_visible()
    assert page.get_by_test_id("source-doc").inner_text() == "tokyo-summit-2025.ru.txt"
    # the cited characters are shown inside their whole paragraph
    paragraph = page.get_by_test_id("source-text").inner_text()
    assert quote in paragraph
    assert paragraph in ARTICLE_PATH.read_text(encoding="utf-8").split("\n")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-desktop.png"), full_page=True)

    page.keyboard.press("Escape")
    assert page.get_by_test_id("source-panel").is_hidden()


def test_page__refusal_looks_different(page: Any) -> None:
    normal = ask(page, "Где пройдёт саммит?")
    normal.get_by_test_id("cite-1").wait_for(timeout=10_000)
    refused = ask(page, "Какая будет погода в Токио?")
    refused.get_by_test_id("refusal-label").wait_for(timeout=10_000)
    assert refused.get_attribute("data-refused") == "true"
    assert refused.get_by_test_id("answer-text").inner_text() == REFUSAL_RU

    def style(locator: Any) -> dict[str, str]:
        return locator.evaluate(  # type: ignore[no-any-return]
            "el => { const s = getComputedStyle(el); return {bg: s.backgroundColor,"
            " border: s.borderLeftColor, font: getComputedStyle(el.querySelector("
            "'.answer-text')).fontStyle}; }"
        )

    assert style(refused) != style(normal)
    assert style(refused)["font"] == "italic"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-refusal.png"), full_page=True)


def test_page__sends_earlier_turns_as_history(page: Any, llm: SlowLLM) -> None:
    ask(page, "Где пройдёт саммит?").get_by_test_id("cite-1").wait_for(timeout=10_000)
    ask(page, "А когда?").get_by_test_id("timings").wait_for(timeout=10_000)
    # the second prompt knows the first question only through the history the page sent
    assert len(llm.calls) == 2
    assert "А когда?" in str(llm.calls[1]) and "Где пройдёт саммит?" in str(llm.calls[1])


def test_page__shift_enter_adds_a_line_and_enter_sends(page: Any, llm: SlowLLM) -> None:
    box = page.get_by_label("Your question")
    box.fill("первая строка")
    box.press("Shift+Enter")
    box.type("вторая")
    assert box.input_value() == "первая строка\nвторая"
    assert page.get_by_test_id("answer").count() == 0
    box.press("Enter")
    page.get_by_test_id("answer").get_by_test_id("timings").wait_for(timeout=10_000)
    assert box.input_value() == ""
    assert page.get_by_test_id("user-turn").inner_text() == "первая строка\nвторая"


def test_page__shows_server_errors(page: Any) -> None:
    page.route(
        "**/ask/stream",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "7"},
            content_type="application/json",
            body='{"error": {"code": "busy", "message": "The model is busy."}}',
        ),
    )
    answer = ask(page, "Где пройдёт саммит?")
    error = answer.get_by_test_id("error")
    error.wait_for()
    assert error.inner_text() == "The model is busy. (retry in 7 s)"
    assert error.get_attribute("role") == "alert"


def test_page__is_usable_at_phone_width(page: Any) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.get_by_test_id("status").filter(has_text="passages").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-phone-empty.png"))
    answer = ask(page, "Где пройдёт саммит?")
    cite = answer.get_by_test_id("cite-1")
    cite.wait_for(timeout=10_000)
    cite.click()
    page.get_by_test_id("source-mark").wait_for()
    for test_id in ("question", "send", "source-panel", "source-mark"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, test_id
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-phone.png"))


def test_page__shows_an_error_that_arrives_mid_answer(page: Any) -> None:
    body = (
        'event: token\ndata: {"text": "Саммит "}\n\n'
        'event: error\ndata: {"error": {"code": "llm_error", "message": "The model stopped."}}\n\n'
    )
    page.route(
        "**/ask/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    answer = ask(page, "Где пройдёт саммит?")
    answer.get_by_test_id("error").wait_for()
    assert answer.get_by_test_id("error").inner_text() == "The model stopped."
    assert answer.get_by_test_id("answer-text").inner_text().strip() == "Саммит"
    assert "streaming" not in (answer.get_attribute("class") or "")
    assert page.get_by_test_id("send").is_enabled()


def test_eval_report__opens_and_shows_each_failure_side_by_side(
    browser: Any, tmp_path: Path
) -> None:
    from test_eval_report import GOOD, write

    report = write(tmp_path, "run", GOOD) / "report.html"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(report.as_uri())
        card = page.locator("div.fail#w1")
        card.wait_for()
        question, answer = card.locator("div.side").all()
        q_box, a_box = question.bounding_box(), answer.bounding_box()
        assert q_box is not None and a_box is not None
        assert abs(q_box["y"] - a_box["y"]) < 5 and a_box["x"] >= q_box["x"] + q_box["width"] - 1
        assert "Асо говорил о технологиях." in question.inner_text()  # evidence beside the answer
        assert "missing keywords: aso" in answer.inner_text()
        assert page.locator("svg").count() == 3
        assert all(box is not None and box["width"] > 100
                   for box in (s.bounding_box() for s in page.locator("svg").all()))  # fmt: skip
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "eval-report.png"), full_page=True)
    finally:
        page.close()
