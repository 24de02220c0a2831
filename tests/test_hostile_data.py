"""The hostile sets are what issue 25 asks for, and each control's evidence is in the article."""

from __future__ import annotations

from collections import Counter

from eval.hostile import HOSTILE, HOSTILE_FRESH, load_hostile
from index.text import fold
from rag.settings import DEFAULT_CORPUS_DIR

ARTICLE = fold(next(DEFAULT_CORPUS_DIR.glob("*.txt")).read_text(encoding="utf-8"))


def test_hostile__at_least_twenty_planted_in_documents_and_in_questions_in_both_languages() -> None:
    kinds = Counter((i["kind"], i["language"]) for i in load_hostile())
    for kind in ("document", "question"):
        assert (
            kinds[kind, "ru"] + kinds[kind, "en"] >= 20 and kinds[kind, "ru"] and kinds[kind, "en"]
        )
    assert kinds["control", "ru"] and kinds["control", "en"]


def test_hostile__ids_unique_and_no_forbidden_string_in_the_article() -> None:
    items = load_hostile(HOSTILE, HOSTILE_FRESH)
    assert len({i["id"] for i in items}) == len(items)
    for i in items:
        if i["kind"] == "question":
            assert not [f for f in i["forbidden"] if fold(f) in ARTICLE], i["id"]


def test_hostile__each_control_cites_evidence_the_article_holds() -> None:
    for c in (i for i in load_hostile(HOSTILE_FRESH) if i["kind"] == "control"):
        assert c["keywords"] and all(fold(e) in ARTICLE for e in c["evidence"]), c["id"]
