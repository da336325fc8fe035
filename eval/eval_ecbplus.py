"""ECB+ topics 1–35: full texts, one shared publication time, gold `event_cluster`; B-cubed of replay.

Run from the repo root: .venv/bin/python -m eval.eval_ecbplus
"""

from __future__ import annotations

from typing import Any

from eval.common import (
    HEADER,
    Scores,
    assignment_of,
    bcubed,
    print_table,
    read_jsonl,
    replay_records,
    score_row,
    shared_path,
)

# Every article gets this one time, so only the text can separate a topic's two lookalike events.
PUBLISHED = "2020-01-01T00:00:00Z"
TARGET_F1 = 0.92


def records() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Replay input (file order) and gold labels for topics 1–35."""
    rows = [r for r in read_jsonl(shared_path("data", "ecbplus", "ecbplus_docs.jsonl")) if 1 <= int(r["topic"]) <= 35]
    recs = [
        {
            "id": r["doc"],
            # Neutral outlet and URL (the doc name carries the gold subtopic, "…ecbplus.xml"); one outlet
            # per document, as the corpus collects articles from many publications.
            "outlet": f"ECB+ source {n}",
            "url": f"https://ecbplus.example/doc/{n}",
            "title": "",
            "text": r["text"],
            "published": PUBLISHED,
        }
        for n, r in enumerate(rows)
    ]
    return recs, {r["doc"]: r["event_cluster"] for r in rows}


def evaluate() -> tuple[tuple[str, ...], Scores]:
    """Run the replay over ECB+ and score it."""
    recs, gold = records()
    events, stats = replay_records(recs)
    scores = bcubed(assignment_of(events), gold)
    return score_row("ECB+ 1-35", scores, len(recs), len(set(gold.values())), len(events), stats.seconds), scores


def main() -> None:
    """Print the ECB+ table."""
    row, scores = evaluate()
    print_table([row], HEADER)
    print(f"target B3 F1 >= {TARGET_F1}: {'met' if scores.f1 >= TARGET_F1 else 'NOT met'}")
    print("reproduce: .venv/bin/python -m eval.eval_ecbplus")


if __name__ == "__main__":
    main()
