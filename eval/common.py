"""Shared helpers for the eval scripts: locating ../shared, B-cubed scoring and running a replay."""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article
from bot.replay import ReplayStats, run_replay

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path inside ../shared; exits with a message when the folder is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"{path} not found: ../shared must sit beside this checkout")
    return path


@dataclass(frozen=True, slots=True)
class Scores:
    """B-cubed precision, recall and F1 of a clustering against gold labels."""

    precision: float
    recall: float
    f1: float


def bcubed(pred: Mapping[str, str], gold: Mapping[str, str]) -> Scores:
    """B-cubed over the items of `gold` (an item missing from `pred` counts as its own cluster)."""
    pred_members: dict[str, set[str]] = defaultdict(set)
    gold_members: dict[str, set[str]] = defaultdict(set)
    labels = {item: pred.get(item, "missing:" + item) for item in gold}
    for item, label in labels.items():
        pred_members[label].add(item)
    for item, label in gold.items():
        gold_members[label].add(item)
    p = r = 0.0
    for item in gold:
        a = pred_members[labels[item]]
        b = gold_members[gold[item]]
        inter = len(a & b)
        p += inter / len(a)
        r += inter / len(b)
    n = len(gold) or 1
    p, r = p / n, r / n
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(p, r, f)


def article_record(art: Article) -> dict[str, Any]:
    """An article as one line of replay input (DESIGN.md's ARTICLES.jsonl fields)."""
    return {
        "id": art.id,
        "outlet": art.outlet,
        "url": art.url,
        "title": art.title,
        "text": art.text,
        "published": art.published.isoformat() if art.published else None,
    }


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records as JSON lines."""
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read JSON lines."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def replay_records(
    records: Iterable[dict[str, Any]], params: ClusterParams = DEFAULT_PARAMS
) -> tuple[list[dict[str, Any]], ReplayStats]:
    """Write records as replay input in a temp dir, run the real replay (--no-filter), return its events."""
    with tempfile.TemporaryDirectory(prefix="wirewatch-eval-") as tmp:
        src = Path(tmp) / "articles.jsonl"
        out = Path(tmp) / "events.jsonl"
        write_jsonl(src, records)
        stats = run_replay(src, out, matcher=None, params=params)
        return read_jsonl(out), stats


def assignment_of(events: Iterable[dict[str, Any]]) -> dict[str, str]:
    """article id → event id from replay output."""
    return {aid: ev["event_id"] for ev in events for aid in ev["article_ids"]}


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Print a plain-text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def score_row(name: str, scores: Scores, n_items: int, n_gold: int, n_events: int, seconds: float) -> tuple[str, ...]:
    """One table row for a data set."""
    return (
        name,
        str(n_items),
        str(n_gold),
        str(n_events),
        f"{scores.precision:.3f}",
        f"{scores.recall:.3f}",
        f"{scores.f1:.3f}",
        f"{seconds:.1f}",
    )


HEADER = ("set", "articles", "gold events", "events", "B3 P", "B3 R", "B3 F1", "seconds")
