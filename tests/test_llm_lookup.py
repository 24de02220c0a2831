"""`rag.llm._lookup`: the draft that `LocalLLM._decode` checks, found in the prompt's tokens."""

from __future__ import annotations

import numpy as np

from rag.llm import _lookup


def test_lookup__the_tokens_after_the_last_place_the_reply_s_last_two_follow_each_other() -> None:
    source = np.array([5, 1, 2, 7, 8, 9, 1, 2, 3, 4, 6])
    assert _lookup(source, [0, 1, 2], 3) == [3, 4, 6]  # the later of the two places
    assert _lookup(source, [9, 1, 2], 10) == [3, 4, 6]  # as many as there are
    assert _lookup(source, [7, 8], 2) == [9, 1]


def test_lookup__nothing_without_two_tokens_a_match_or_a_size() -> None:
    source = np.array([1, 2, 3])
    assert _lookup(source, [2], 3) == []  # one token matches too much to be worth a batch
    assert _lookup(source, [3, 1], 3) == []
    assert _lookup(source, [1, 2], 0) == []
    assert _lookup(source, [2, 3], 3) == []  # at the end: nothing follows
