"""ECB+ report pairs within a topic: how well each comparison tells reports of one event from lookalikes.

The figures behind body_repeat_weight and name_repeat_weight in bot/core/tuning.py. Every document is
weighed as the event index weighs it (its own code path), under the document frequencies of all of them.

Run from the repo root: .venv/bin/python -m eval.eval_ecbplus_pairs
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import combinations

import numpy as np

from bot.core.cluster import EventIndex
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.replay import parse_line
from eval import eval_ecbplus


@dataclass(frozen=True, slots=True)
class _Weighed:
    """One document as the index weighs it: both vectors, its strongest name and its terms."""

    strongest: dict[str, float]  # repeats counted: what a centroid sums
    vec: dict[str, float]  # body repeats at body_repeat_weight: what an arrival is compared by
    top_name: str
    terms: frozenset[str]


def _weighed(params: ClusterParams) -> dict[str, _Weighed]:
    """Every ECB+ document weighed under the document frequencies of all of them, each counted once."""
    recs, _ = eval_ecbplus.records()
    articles = [a for a in (parse_line(json.dumps(r))[0] for r in recs) if a is not None]
    idx = EventIndex(params)
    fingerprints = [idx._fingerprint(a.title, a.text, a.url) for a in articles]
    for fp in fingerprints:
        idx._count_terms(fp.terms)
    out = {}
    now = datetime(2020, 1, 1, tzinfo=UTC)
    for article, fp in zip(articles, fingerprints, strict=True):
        idx._uncount_terms(tuple(fp.terms))  # _prepare counts it back before weighing
        p = idx._prepare(article, now)
        top = max(p.name_w, key=lambda k: (p.name_w[k], k)) if p.name_w else ""
        out[article.id] = _Weighed(p.strongest, p.vec, top, frozenset(p.fp.terms))
    return out


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _auc(scores: list[float], same: list[bool]) -> float:
    """Probability that a same-event pair scores above a different-event one (ties count half)."""
    s = np.asarray(scores)
    y = np.asarray(same)
    # Ranks from 1, tied scores sharing the average of theirs.
    _, inverse = np.unique(s, return_inverse=True)
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    ranks = (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main() -> None:
    """Print the pairs' AUC for both vectors, and what the name conflict test flags with k = 1 and 2."""
    _, gold = eval_ecbplus.records()
    by_topic: dict[str, list[str]] = {}
    for doc in gold:
        by_topic.setdefault(doc.split("_")[0], []).append(doc)
    pairs = [pair for docs in by_topic.values() for pair in combinations(docs, 2)]
    same = [gold[a] == gold[b] for a, b in pairs]
    print(f"{len(pairs):,} pairs of reports within an ECB+ topic, {sum(same):,} of one event")
    docs = _weighed(DEFAULT_PARAMS)
    for label, field in (
        ("repeats counted (what a centroid sums)", "strongest"),
        ("body repeats dropped (arrivals)", "vec"),
    ):
        scores = [_cosine(getattr(docs[a], field), getattr(docs[b], field)) for a, b in pairs]
        print(f"  cosine AUC, {label}: {_auc(scores, same):.3f}")
    for k in (1.0, DEFAULT_PARAMS.name_repeat_weight):
        named = _weighed(replace(DEFAULT_PARAMS, name_repeat_weight=k))
        flagged = [
            bool(named[a].top_name and named[b].top_name)
            and named[a].top_name not in named[b].terms
            and named[b].top_name not in named[a].terms
            for a, b in pairs
        ]
        diff = sum(f for f, s in zip(flagged, same, strict=True) if not s) / (len(pairs) - sum(same))
        alike = sum(f for f, s in zip(flagged, same, strict=True) if s) / sum(same)
        print(
            f"  name conflict, name_repeat_weight {k:g}: flags {diff:.1%} of different-event pairs, {alike:.1%} of same"
        )
    print("reproduce: .venv/bin/python -m eval.eval_ecbplus_pairs")


if __name__ == "__main__":
    main()
