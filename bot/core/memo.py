"""A bounded memo of a pure function: looked up as a dict, so a hit is one C-level look-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class BoundedMemo(dict[_K, _V]):
    """key → compute(key), computed on first sight; emptied when it holds `limit` entries.

    A dict subclass rather than functools.lru_cache: `memo[key]` and `map(memo.__getitem__, keys)` cost a plain
    dict look-up on a hit, with no wrapper call per key, which is what the hot paths that use it need. Emptied
    rather than evicting one entry at a time: a stream of one-off keys (typos, numbers, new sentences) cannot
    grow it without limit, and a hit pays for no recency bookkeeping.
    """

    def __init__(self, compute: Callable[[_K], _V], limit: int) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: _K) -> _V:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.compute(key)
        return value
