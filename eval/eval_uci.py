"""UCI News Aggregator headlines: titles only, streamed in timestamp order, gold STORY; B-cubed of replay.

Run from the repo root: .venv/bin/python -m eval.eval_uci
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from typing import Any

from eval.common import HEADER, Scores, assignment_of, bcubed, print_table, replay_records, score_row, shared_path

TARGET_F1 = 0.82


def records() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Replay input in timestamp order (ties by ID) and gold story labels."""
    with shared_path("data", "uci-news-aggregator", "headlines.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    recs = [
        {
            "id": r["ID"],
            "outlet": r["PUBLISHER"],
            "url": r["URL"],
            "title": r["TITLE"],
            "text": "",
            "published": datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, tz=UTC).isoformat(),
        }
        for r in rows
    ]
    return recs, {r["ID"]: r["STORY"] for r in rows}


def evaluate() -> tuple[tuple[str, ...], Scores]:
    """Run the replay over the UCI headlines and score it."""
    recs, gold = records()
    events, stats = replay_records(recs)
    scores = bcubed(assignment_of(events), gold)
    return score_row("UCI headlines", scores, len(recs), len(set(gold.values())), len(events), stats.seconds), scores


def main() -> None:
    """Print the UCI table."""
    row, scores = evaluate()
    print_table([row], HEADER)
    print(f"target B3 F1 >= {TARGET_F1}: {'met' if scores.f1 >= TARGET_F1 else 'NOT met'}")
    print("reproduce: .venv/bin/python -m eval.eval_uci")


if __name__ == "__main__":
    main()
