"""Real feed items: the 12 captured feeds, parsed as the bot parses them, against hand-labelled pairs.

Run from the repo root: .venv/bin/python -m eval.eval_feeds

The feeds in ../shared/data/feeds/news-2026-02 carry what a live bot sees (a title and a one- or
two-sentence summary per item, 436 items of world news). They have no gold events, so eval/feeds_pairs.toml
lists pairs labelled by reading both items: reports of one happening (should share an event) and
different happenings that share a word (should not). The pairs were picked among the joins an earlier
version made, right and wrong, plus same pairs it split (found by comparing titles across events), so
they check both ways rather than sample the feeds evenly.
"""

from __future__ import annotations

import tomllib
from typing import Any

from bot.core.feedparse import parse_feed
from eval.common import REPO, article_record, assignment_of, print_table, replay_records, shared_path

PAIRS = REPO / "eval" / "feeds_pairs.toml"
HEADER = ("set", "items", "events", "joined", "same pairs together", "different pairs apart", "seconds")


def records() -> list[dict[str, Any]]:
    """Every item of the captured feeds through the bot's own parser, in publication order."""
    recs: list[dict[str, Any]] = []
    for path in sorted(shared_path("data", "feeds", "news-2026-02").glob("*.xml")):
        parsed = parse_feed(path.read_bytes(), {}, outlet=path.stem, base_url="https://feeds.invalid/")
        recs.extend(map(article_record, parsed.articles))
    recs.sort(key=lambda r: (r["published"] or "", r["id"]))
    return recs


def labelled_pairs() -> dict[str, list[tuple[str, str, str]]]:
    """The 'same' and 'different' pairs of eval/feeds_pairs.toml as (id, id, note)."""
    with PAIRS.open("rb") as fh:
        data = tomllib.load(fh)
    return {kind: [(a, b, note) for a, b, note in data[kind]] for kind in ("same", "different")}


def evaluate(recs: list[dict[str, Any]] | None = None) -> tuple[tuple[str, ...], dict[str, list[tuple[str, str, str]]]]:
    """Replay the feeds (no topic filter) and count the labelled pairs handled right; also the misses.

    misses: "same" pairs split, "different" pairs joined, and "threaded": the split same pairs whose later
    event is posted as a follow-up of the earlier one (threaded under it, not a stray alert).
    """
    recs = records() if recs is None else recs
    events, stats = replay_records(recs)
    event_of = assignment_of(events)
    pairs = labelled_pairs()
    known = {r["id"] for r in recs}
    missing = [a for kind in pairs.values() for pair in kind for a in pair[:2] if a not in known]
    if missing:
        raise SystemExit(f"{PAIRS.name}: ids not among the feed items: {', '.join(sorted(set(missing)))}")
    follows = {ev["event_id"]: ev["follows"] for ev in events}
    misses = {
        "same": [p for p in pairs["same"] if event_of[p[0]] != event_of[p[1]]],
        "different": [p for p in pairs["different"] if event_of[p[0]] == event_of[p[1]]],
        # Of the split same pairs, those whose later event is posted as a follow-up of the earlier one.
        "threaded": [],
    }
    for a, b, note in misses["same"]:
        if follows[event_of[a]] == event_of[b] or follows[event_of[b]] == event_of[a]:
            misses["threaded"].append((a, b, note))
    joined = sum(len(ev["article_ids"]) - 1 for ev in events)
    row = (
        "real feed items",
        str(len(recs)),
        str(len(events)),
        str(joined),
        f"{len(pairs['same']) - len(misses['same'])}/{len(pairs['same'])}",
        f"{len(pairs['different']) - len(misses['different'])}/{len(pairs['different'])}",
        f"{stats.seconds:.1f}",
    )
    return row, misses


def main() -> None:
    """Print the table and every labelled pair the grouping gets wrong."""
    recs = records()
    row, misses = evaluate(recs)
    print_table([row], HEADER)
    titles = {r["id"]: r["title"] for r in recs}
    for a, b, note in misses["same"]:
        how = "apart, the later posted as a follow-up" if (a, b, note) in misses["threaded"] else "apart"
        print(f"  same pair {how}: {titles[a][:50]!r} / {titles[b][:50]!r} ({note})")
    for a, b, note in misses["different"]:
        print(f"  different pair together: {titles[a][:50]!r} / {titles[b][:50]!r} ({note})")
    print("reproduce: .venv/bin/python -m eval.eval_feeds")


if __name__ == "__main__":
    main()
