"""The three seed articles: two events, the reprint together, Xi's reply alone following the first.

Run from the repo root: .venv/bin/python -m eval.eval_seeds
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.summarize import boilerplate_kind
from eval.common import print_table, read_jsonl, replay_records, shared_path

_LOST_APOSTROPHE = re.compile(r"\b(China|North|It|Korea) s\b")


def checks(events: list[dict[str, Any]] | None = None) -> list[tuple[str, bool, str]]:
    """Each seed requirement as (name, passed, detail), over the seeds' replay (run here unless given)."""
    recs = read_jsonl(shared_path("seeds", "articles.jsonl"))
    if events is None:
        events, _ = replay_records(recs)
    by_article = {aid: ev for ev in events for aid in ev["article_ids"]}
    ids = [r["id"] for r in recs]
    reuters, scmp, st = (by_article.get(i) for i in ids)
    out: list[tuple[str, bool, str]] = [("exactly two events", len(events) == 2, f"{len(events)} events")]
    together = reuters is not None and reuters is scmp
    out.append(("Reuters and SCMP in one event", together, str(reuters["outlets"] if reuters else None)))
    alone = st is not None and st["article_ids"] == [ids[2]]
    out.append(("Straits Times alone", alone, str(st["article_ids"] if st else None)))
    follows_ok = st is not None and reuters is not None and st["follows"] == reuters["event_id"]
    out.append(("Straits Times follows the first", follows_ok, str(st["follows"] if st else None)))
    for ev in events:
        text = ev["summary"]
        clean = (
            bool(text)
            and len(text) <= 420
            and not _LOST_APOSTROPHE.search(text + " " + ev["headline"])
            and all(boilerplate_kind(s) is None for s in re.split(r"(?<=[.!?”])\s+", text))
            and "Telegram" not in text
            and "PUBLISHED" not in text
        )
        out.append((f"clean summary {ev['event_id']}", clean, f"{len(text)} chars"))
    return out


def show(events: list[dict[str, Any]]) -> None:
    """Print headlines and summaries for a reader to judge."""
    for ev in events:
        print(f"\n{ev['event_id']}  {', '.join(ev['outlets'])}  follows={ev['follows']}")
        print(f"  headline: {ev['headline']}")
        print(f"  summary:  {ev['summary']}")


def main() -> None:
    """Print the seed checks and the two alerts' text."""
    events, _ = replay_records(read_jsonl(shared_path("seeds", "articles.jsonl")))
    results = checks(events)
    print_table(
        [(name, "pass" if ok else "FAIL", detail) for name, ok, detail in results], ("check", "result", "detail")
    )
    show(events)
    print("\nreproduce: .venv/bin/python -m eval.eval_seeds")


if __name__ == "__main__":
    main()
