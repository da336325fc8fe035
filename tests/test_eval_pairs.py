"""The pair AUC of eval/eval_ecbplus_pairs.py, against counting every (same, different) pair."""

from __future__ import annotations

import random

from eval.eval_ecbplus_pairs import _auc


def test_pair_auc_is_the_share_of_same_pairs_scoring_above_different_ones() -> None:
    """Ties (scores drawn from a few values) count half, as in a pair-by-pair count."""
    rng = random.Random(5)
    scores = [rng.choice([0.1, 0.2, 0.3, 0.5, 0.8]) for _ in range(300)]
    same = [rng.random() < 0.3 + s / 2 for s in scores]
    pos = [s for s, y in zip(scores, same, strict=True) if y]
    neg = [s for s, y in zip(scores, same, strict=True) if not y]
    counted = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
    assert abs(_auc(scores, same) - counted) < 1e-12
    assert _auc([0.1, 0.9], [False, True]) == 1.0 and _auc([0.5, 0.5], [False, True]) == 0.5
