"""Load and validate JSONL question sets (schema: `../shared/eval/README.md`).

A line may name the document it asks about (`doc`, a document id such as
`artificial-intelligence.ru.txt`); its evidence is then located in that document only, and the
report groups by document too.

Every line is checked before anything is answered: JSON syntax, every field present with the right
type, a known `type` and `language`, `answerable` consistent with the type, and each evidence string
an exact substring of some corpus document. All problems are collected and raised together as one
`EvalDataError` whose message names each line; `.line` is the first bad line.

Each evidence string is located in the corpus here (every occurrence, in every document), so the
metrics work on character offsets and never search text again. Does not answer or score anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import EvalDataError

LANGUAGES = ("ru", "en")
ANSWERABLE_TYPES = ("fact", "synthesis", "paraphrase", "numeric", "who-said")
REFUSAL_TYPES = ("unanswerable", "false-premise", "injection")
TYPES = ANSWERABLE_TYPES + REFUSAL_TYPES

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "question": str,
    "language": str,
    "type": str,
    "answerable": bool,
    "answer": str,
    "evidence": list,
    "keywords": list,
}


@dataclass(frozen=True)
class Span:
    """Where an evidence string sits: `corpus[doc_id][start:end] == text`."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Evidence:
    text: str
    spans: tuple[Span, ...]  # every occurrence; metrics take the best-covered one


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    language: str
    type: str
    answerable: bool
    answer: str
    evidence: tuple[Evidence, ...]
    keywords: tuple[str, ...]
    line: int
    doc: str | None = None  # the document the question is about, when the set names it

    @property
    def evidence_is_target(self) -> bool:
        """Whether citing or retrieving the evidence is the goal (not for `unanswerable`, whose
        evidence is only the closest passage that does *not* answer)."""
        return self.type != "unanswerable" and bool(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "language": self.language,
            "type": self.type,
            "answerable": self.answerable,
            "answer": self.answer,
            "evidence": [e.text for e in self.evidence],
            "keywords": list(self.keywords),
        } | ({"doc": self.doc} if self.doc else {})


def locate(text: str, corpus: Mapping[str, str]) -> tuple[Span, ...]:
    """Every occurrence of `text` in every document, in document-id order."""
    spans: list[Span] = []
    for doc_id in sorted(corpus):
        doc = corpus[doc_id]
        i = doc.find(text)
        while i >= 0:
            spans.append(Span(doc_id, i, i + len(text)))
            i = doc.find(text, i + 1)
    return tuple(spans)


def _check_row(row: Any, corpus: Mapping[str, str] | None) -> tuple[list[str], Case | None, str]:
    """Problems with one parsed line (empty when fine), the Case when fine, and its id."""
    if not isinstance(row, dict):
        return ["a line must be a JSON object"], None, ""
    problems: list[str] = []
    for name, kind in _FIELDS.items():
        if name not in row:
            problems.append(f"missing field {name!r}")
        elif not isinstance(row[name], kind):
            problems.append(f"field {name!r} must be {getattr(kind, '__name__', kind)}")
    if problems:
        return problems, None, str(row.get("id", ""))
    if row["language"] not in LANGUAGES:
        problems.append(f"unknown language {row['language']!r} (expected one of {LANGUAGES})")
    if row["type"] not in TYPES:
        problems.append(f"unknown type {row['type']!r} (expected one of {TYPES})")
    elif row["answerable"] != (row["type"] in ANSWERABLE_TYPES):
        problems.append(f"answerable={row['answerable']} contradicts type {row['type']!r}")
    if not row["id"].strip() or not row["question"].strip():
        problems.append("'id' and 'question' must not be empty")
    for name in ("evidence", "keywords"):
        if not all(isinstance(x, str) and x for x in row[name]):
            problems.append(f"field {name!r} must be a list of non-empty strings")
    doc = row.get("doc")
    if doc is not None and not (isinstance(doc, str) and doc):
        problems.append("field 'doc' must be a non-empty string (a document id)")
    elif doc is not None and corpus is not None and doc not in corpus:
        problems.append(f"document {doc!r} is not in the corpus")
    if problems:
        return problems, None, row["id"]
    # a question about one document is judged by its evidence there only: the same sentence
    # in another document is not what the question asked about
    scope = {doc: corpus[doc]} if corpus is not None and doc is not None else corpus
    evidence: list[Evidence] = []
    for text in row["evidence"]:
        spans = locate(text, scope) if scope is not None else ()
        if corpus is not None and not spans:
            problems.append(f"evidence is not an exact substring of the corpus: {text[:60]!r}")
        evidence.append(Evidence(text, spans))
    if row["answerable"] and not row["keywords"]:
        problems.append("an answerable question needs keywords")
    case = Case(
        id=row["id"],
        question=row["question"],
        language=row["language"],
        type=row["type"],
        answerable=row["answerable"],
        answer=row["answer"],
        evidence=tuple(evidence),
        keywords=tuple(row["keywords"]),
        line=0,
        doc=doc,
    )
    return problems, case, row["id"]


def parse_cases(text: str, corpus: Mapping[str, str] | None) -> list[Case]:
    """Validate a whole JSONL text; raise one EvalDataError listing every bad line (1-based).

    `corpus` maps doc_id -> exact document text; None skips the evidence check (and leaves
    evidence unlocated), which only tests of the schema should do.
    """
    cases: list[Case] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append((lineno, f"malformed JSON: {exc.msg} (column {exc.colno})"))
            continue
        problems, case, case_id = _check_row(row, corpus)
        if case_id and case_id in seen:
            problems.append(f"duplicate id {case_id!r} (first on line {seen[case_id]})")
        elif case_id:
            seen[case_id] = lineno
        errors.extend((lineno, p) for p in problems)
        if case is not None and not problems:
            cases.append(Case(**{**case.__dict__, "line": lineno}))
    if errors:
        message = "; ".join(f"line {n}: {p}" for n, p in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        err = EvalDataError(f"invalid question set: {message}{more}")
        err.line = errors[0][0]  # the message already names every line
        raise err
    if not cases:
        raise EvalDataError("the question set is empty")
    return cases


def load_cases(path: str | Path, corpus: Mapping[str, str] | None) -> list[Case]:
    """Read and validate a JSONL question set; see `parse_cases`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise EvalDataError(f"no such question set: {p}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"cannot read question set {p}: {exc}") from exc
    return parse_cases(text, corpus)
