"""The bounded memo shared by the term, tf-factor and sentence caches."""

from __future__ import annotations

from bot.core.memo import BoundedMemo


def test_a_value_is_computed_once_and_the_memo_empties_when_full() -> None:
    """A hit does not compute again; the entry after `limit` starts the memo afresh, so it never exceeds it."""
    calls: list[int] = []

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    memo = BoundedMemo(square, limit=3)
    assert [memo[2], memo[2], memo[3]] == [4, 4, 9]
    assert calls == [2, 3]
    assert list(map(memo.__getitem__, [2, 3, 4])) == [4, 9, 16]
    assert len(memo) == 3 and calls == [2, 3, 4]
    assert memo[5] == 25
    assert dict(memo) == {5: 25}  # emptied, then filled with the new key
    assert memo[2] == 4 and calls == [2, 3, 4, 5, 2]
    assert 5 in memo and 7 not in memo  # membership computes nothing
