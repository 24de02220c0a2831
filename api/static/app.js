// The chat page: streams answers from POST /ask/stream (server-sent events read with fetch),
// turns [n] markers into buttons that show the cited span in its paragraph, and keeps the
// conversation as `history`. No framework, no build step, nothing loaded from outside.
"use strict";

const HISTORY_TURNS = 6; // earlier turns sent along; the API accepts up to 20
const CONTEXT_CHARS = 700; // most characters shown either side of a cited span

const $ = (id) => document.getElementById(id);
const log = $("log");
const form = $("ask-form");
const input = $("question");
const send = $("send");
const history = [];
const docCache = new Map();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function scrollToEnd() {
  window.scrollTo({ top: document.body.scrollHeight });
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// --- status line ------------------------------------------------------------------------------
async function showHealth() {
  const status = $("status");
  try {
    const res = await fetch("/health");
    const body = await res.json();
    if (res.ok) {
      status.className = "status";
      status.textContent =
        `${plural(body.documents, "document")}, ${plural(body.chunks, "passage")} · ` +
        `${body.embedder} · ${body.llm}`;
      return;
    }
    status.className = "status bad";
    status.textContent = body.error ? body.error.message : `HTTP ${res.status}`;
    if (body.error && body.error.code === "loading") setTimeout(showHealth, 2000);
  } catch (err) {
    status.className = "status bad";
    status.textContent = "The server cannot be reached.";
  }
}

// --- citations ------------------------------------------------------------------------------
async function documentText(docId) {
  if (!docCache.has(docId)) {
    const path = docId.split("/").map(encodeURIComponent).join("/");
    const res = await fetch(`/documents/${path}`);
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : `HTTP ${res.status}`);
    docCache.set(docId, body.text);
  }
  return docCache.get(docId);
}

// The paragraph (or paragraphs) holding [start, end), cut to CONTEXT_CHARS on each side.
// Python offsets count code points, JavaScript strings UTF-16 units: they differ only when the
// text has characters outside the BMP, and only then is it split into code points.
function contextAround(text, start, end) {
  const chars = /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : null;
  const all = chars || text;
  const slice = (from, to) => (chars ? chars.slice(from, to).join("") : text.slice(from, to));
  let a = start > 0 ? all.lastIndexOf("\n", start - 1) + 1 : 0;
  let b = all.indexOf("\n", end);
  if (b < 0) b = all.length;
  const cutBefore = start - a > CONTEXT_CHARS;
  const cutAfter = b - end > CONTEXT_CHARS;
  if (cutBefore) a = start - CONTEXT_CHARS;
  if (cutAfter) b = end + CONTEXT_CHARS;
  return {
    before: (cutBefore ? "…" : "") + slice(a, start),
    quote: slice(start, end),
    after: slice(end, b) + (cutAfter ? "…" : ""),
  };
}

async function openCitation(citation, button) {
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
  button.classList.add("active");
  const panel = $("source");
  $("source-title").textContent = `Source [${citation.n}]`;
  $("source-doc").textContent = citation.doc_id;
  const textBox = $("source-text");
  const note = $("source-note");
  textBox.textContent = "loading…";
  note.hidden = true;
  panel.hidden = false;
  document.querySelector(".layout").classList.add("with-source");
  try {
    const text = await documentText(citation.doc_id);
    const ctx = contextAround(text, citation.start, citation.end);
    textBox.replaceChildren(ctx.before, el("mark", { "data-testid": "source-mark", text: ctx.quote }), ctx.after);
    if (ctx.quote !== citation.quote) {
      note.textContent = "The document has changed since this answer; the quote was: " + citation.quote;
      note.hidden = false;
    }
  } catch (err) {
    textBox.textContent = "";
    note.textContent = `Could not load the source: ${err.message}`;
    note.hidden = false;
  }
}

function closeSource() {
  $("source").hidden = true;
  document.querySelector(".layout").classList.remove("with-source");
  document.querySelectorAll(".cite.active").forEach((b) => b.classList.remove("active"));
}

// Answer text with each [n] that has a citation as a button; other text stays plain text.
function renderAnswer(text, citations) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const c = byN.get(Number(m[1]));
    if (!c) continue;
    frag.append(text.slice(last, m.index));
    const button = el("button", {
      type: "button", class: "cite", "data-testid": `cite-${c.n}`,
      title: c.quote, "aria-label": `Show source ${c.n}`, text: `[${c.n}]`,
    });
    button.addEventListener("click", () => openCitation(c, button));
    frag.append(button);
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

// "4.2 s · first words 0.8 s · retrieve 8 ms · generate 4.1 s": the client's wall time first,
// then the server's stages; the server's own total and first_token repeat the first two.
function timingsLine(serverTimings, firstTokenMs, totalMs) {
  const parts = [formatMs(totalMs)];
  if (firstTokenMs !== null) parts.push(`first words ${formatMs(firstTokenMs)}`);
  for (const [k, v] of Object.entries(serverTimings || {})) {
    if (k !== "total" && k !== "first_token" && v >= 0.5) parts.push(`${k} ${formatMs(v)}`);
  }
  return parts.join(" · ");
}

// --- asking -----------------------------------------------------------------------------------
function showError(turn, message) {
  turn.classList.remove("streaming");
  turn.append(el("div", { class: "error", role: "alert", "data-testid": "error", text: message }));
}

function finish(turn, textBox, answer, question, firstTokenMs, t0) {
  turn.classList.remove("streaming");
  turn.setAttribute("lang", answer.language || "");
  if (answer.refused) {
    turn.classList.add("refused");
    turn.setAttribute("data-refused", "true");
    // With citations a refusal corrects the question's premise from the article; without, the
    // article has no answer (or the question was off limits).
    const label = answer.citations && answer.citations.length
      ? "Not answered as asked" : "No answer in the article";
    turn.prepend(el("span", { class: "refusal-label", "data-testid": "refusal-label", text: label }));
  }
  textBox.replaceChildren(renderAnswer(answer.answer, answer.citations || []));
  turn.append(el("small", {
    class: "timings", "data-testid": "timings",
    text: timingsLine(answer.timings_ms, firstTokenMs, performance.now() - t0),
  }));
  history.push({ role: "user", content: question }, { role: "assistant", content: answer.answer });
}

async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body.error) return body.error.message;
  } catch (err) { /* not JSON: fall through */ }
  return `The server answered HTTP ${res.status}.`;
}

// Calls onEvent(name, data) for each server-sent event in the response body.
async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function ask(question) {
  $("hint")?.remove();
  log.append(el("div", { class: "turn user", "data-testid": "user-turn", text: question }));
  const textBox = el("div", { class: "answer-text", "data-testid": "answer-text" });
  const turn = el("article", { class: "turn answer streaming", "data-testid": "answer" }, textBox);
  log.append(turn);
  scrollToEnd();

  const t0 = performance.now();
  let firstTokenMs = null;
  let raw = "";
  let finished = false;
  try {
    const res = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, history: history.slice(-HISTORY_TURNS) }),
    });
    if (!res.ok) {
      const retry = res.headers.get("Retry-After");
      const message = await errorMessage(res);
      showError(turn, retry ? `${message} (retry in ${retry} s)` : message);
      return;
    }
    await readEvents(res, (name, data) => {
      if (name === "token") {
        if (firstTokenMs === null) firstTokenMs = performance.now() - t0;
        raw += data.text;
        textBox.textContent = raw;
        scrollToEnd();
      } else if (name === "done") {
        finished = true;
        finish(turn, textBox, data, question, firstTokenMs, t0);
      } else if (name === "error") {
        finished = true;
        showError(turn, data.error ? data.error.message : "The answer failed.");
      }
    });
    if (!finished) showError(turn, "The answer was cut off; please ask again.");
  } catch (err) {
    showError(turn, `The server cannot be reached (${err.message}).`);
  } finally {
    scrollToEnd();
  }
}

async function submit() {
  const question = input.value.trim();
  if (!question || send.disabled) return;
  input.value = "";
  send.disabled = true;
  try {
    await ask(question);
  } finally {
    send.disabled = false;
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
$("source-close").addEventListener("click", closeSource);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeSource();
});
showHealth();
input.focus();
