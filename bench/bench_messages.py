"""Benchmark: message economy on the UCI headlines, Wirewatch's posts and edits vs one message per item.

The headlines (../shared/data/uci-news-aggregator/headlines.csv) are streamed in timestamp order, title
only, with the topic filter off, through the replay path (`bot.replay.parse_line` and `EventTracker`, the
headline times as the clock). Wirewatch sends one post per event and an edit when an event grows, edits
coalesced to at most one per --edit-interval seconds per alert as the delivery worker does (an edit due
sooner waits and carries every change made meanwhile). A feed bot sends one message per item. The
replay's event count is checked against `wirewatch replay --no-filter` (run_replay) on the same lines.

    .venv/bin/python bench/bench_messages.py [--edit-interval 60] [--csv PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.events import EventTracker
from bot.replay import parse_line, run_replay

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CSV = REPO.parent / "shared" / "data" / "uci-news-aggregator" / "headlines.csv"


@dataclass(slots=True)
class _Alert:
    """Delivery state of one event's alert in the simulation."""

    last_sent: datetime
    due: datetime | None = None  # a coalesced edit waiting until this time


@dataclass(slots=True)
class Tally:
    """Messages one strategy sends, with their times for the peak-rate figure."""

    posts: int = 0
    replies: int = 0  # posts that are follow-ups (a reply to an earlier alert)
    edits: int = 0
    times: list[datetime] = field(default_factory=list)

    @property
    def messages(self) -> int:
        """Posts plus edits."""
        return self.posts + self.edits

    def peak_per_minute(self) -> int:
        """Most messages sent within any 60-second window."""
        window: deque[datetime] = deque()
        peak = 0
        for when in sorted(self.times):
            window.append(when)
            while when - window[0] >= timedelta(seconds=60):
                window.popleft()
            peak = max(peak, len(window))
        return peak


def _jsonl_lines(path: Path) -> tuple[list[str], int]:
    """The headlines as replay input lines (id, outlet, url, title, published) in timestamp order; gold stories."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                stamp = int(row["TIMESTAMP"]) / 1000
            except (KeyError, ValueError):
                continue
            rows.append((stamp, row))
    rows.sort(key=lambda r: r[0])  # stable: ties keep file order
    stories = len({row.get("STORY") for _, row in rows})
    lines = [
        json.dumps(
            {
                "id": row["ID"],
                "outlet": row.get("PUBLISHER") or row.get("HOSTNAME") or "",
                "url": row.get("URL") or "",
                "title": row.get("TITLE") or "",
                "text": "",
                "published": datetime.fromtimestamp(stamp, UTC).isoformat(),
            }
        )
        for stamp, row in rows
    ]
    return lines, stories


def simulate(lines: list[str], edit_interval: timedelta) -> tuple[Tally, Tally, Tally, int, int, float]:
    """Stream the lines through the tracker; return (baseline, Wirewatch, uncoalesced) tallies, items, events, s."""
    started = time.perf_counter()
    tracker = EventTracker()
    baseline, ours, every = Tally(), Tally(), Tally()
    alerts: dict[str, _Alert] = {}
    events: set[str] = set()
    clock: datetime | None = None
    items = 0

    def flush(until: datetime | None) -> None:
        """Send the coalesced edits that are due by `until` (all of them when None)."""
        for alert in alerts.values():
            if alert.due is not None and (until is None or alert.due <= until):
                ours.edits += 1
                ours.times.append(alert.due)
                alert.last_sent, alert.due = alert.due, None

    for raw in lines:
        article, _, _ = parse_line(raw)
        if article is None:
            continue
        items += 1
        if clock is None or (article.published is not None and article.published > clock):
            clock = article.published or clock
        assert clock is not None
        baseline.posts += 1
        baseline.times.append(clock)
        flush(clock)
        update = tracker.add(article, (), clock)
        event = update.event
        events.add(event.id)
        if update.change == "new":
            for tally in (ours, every):
                tally.posts += 1
                tally.replies += event.follows is not None
                tally.times.append(clock)
            alerts[event.id] = _Alert(last_sent=clock)
        elif update.change == "grown":
            every.edits += 1
            every.times.append(clock)
            alert = alerts[event.id]
            if alert.due is None:
                ready = alert.last_sent + edit_interval
                if ready <= clock:
                    ours.edits += 1
                    ours.times.append(clock)
                    alert.last_sent = clock
                else:
                    alert.due = ready
    flush(None)
    return baseline, ours, every, items, len(events), time.perf_counter() - started


def main() -> int:
    """Run the simulation and print the table; exit status 2 when the data set is absent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the UCI headlines.csv")
    parser.add_argument("--edit-interval", type=float, default=60.0, help="seconds between edits of one alert")
    parser.add_argument("--limit", type=int, default=0, help="only the first N headlines in time order (0: all)")
    args = parser.parse_args()
    if not args.csv.is_file():
        print(f"bench_messages: skipped: {args.csv} is absent (needs ../shared/data)", file=sys.stderr)
        return 0
    lines, stories = _jsonl_lines(args.csv)
    if args.limit:
        lines = lines[: args.limit]
    baseline, ours, every, items, events, seconds = simulate(lines, timedelta(seconds=args.edit_interval))

    with tempfile.TemporaryDirectory(prefix="wirewatch-messages-") as tmp:
        source = Path(tmp) / "articles.jsonl"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        check = run_replay(source, Path(tmp) / "events.jsonl", matcher=None)
    agree = check.events == events

    print(f"message economy: {items:,} UCI headlines in timestamp order, title only, no topic filter")
    print(f"one post per event, edits when it grows, at most one edit per {args.edit_interval:g} s per alert\n")
    print(f"{'strategy':<44}{'posts':>7}{'edits':>7}{'messages':>10}{'vs feed bot':>13}{'peak/min':>10}")
    rows = (
        ("feed bot: one message per item", baseline),
        ("Wirewatch, edits uncoalesced", every),
        (f"Wirewatch, edits ≤ 1 per {args.edit_interval:g} s (shipped)", ours),
    )
    for label, tally in rows:
        share = tally.messages / baseline.messages
        print(
            f"{label:<44}{tally.posts:>7,}{tally.edits:>7,}{tally.messages:>10,}{share:>12.1%}"
            f"{tally.peak_per_minute():>10}"
        )
    ratio = baseline.messages / ours.messages
    print(
        f"\nevents {events:,} (of which follow-ups posted as replies: {ours.replies:,}); "
        f"replay check {'agrees' if agree else f'DISAGREES ({check.events:,} events)'}"
    )
    print(f"the data's own story labels: {stories:,} stories (a perfect grouping would post {stories:,} times)")
    counts = f"{baseline.messages:,} vs {ours.messages:,}"
    print(f"ratio: a feed bot sends {ratio:.2f}× the messages Wirewatch sends ({counts})")
    print(f"(tracker pass {seconds:.1f} s)")
    print(f"reproduce: .venv/bin/python bench/bench_messages.py --edit-interval {args.edit_interval:g}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
