"""Benchmark: plain `feedparser.parse(bytes)` with its defaults vs Wirewatch's `parse_feed`, per real feed.

For every feed in ../shared/data/feeds/news-2026-02 it prints items per CPU-second of both (median of --repeat runs),
their ratio, and whether both agree on the number of entries, the titles, the links and the dates. The
target of issue #7 is a total ratio of at least 1.4.

    .venv/bin/python bench/bench_parse.py [--repeat N] [--feeds DIR]
"""

from __future__ import annotations

import argparse
import calendar
import html
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.feedparse import ParsedFeed, parse_feed
from bot.core.text import clean_line
from bot.core.urls import canonical_url

DEFAULT_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds" / "news-2026-02"
TARGET_RATIO = 1.4
BASE_URL = "https://feeds.example.org/"
HEADERS = {"content-type": "application/rss+xml"}


def _median_cpu_seconds(fns: list[Any], repeat: int) -> list[float]:
    """Median CPU time of each of fns over `repeat` rounds, after one warm-up round.

    CPU time (not wall time) and interleaved rounds, so other work on a shared machine skews both alike.
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.process_time()
            fn()
            bucket.append(time.process_time() - start)
    return [statistics.median(bucket) for bucket in times]


def _utc(struct: Any) -> datetime | None:
    return datetime.fromtimestamp(calendar.timegm(struct), UTC) if struct else None


def _disagreements(plain: Any, ours: ParsedFeed) -> list[str]:
    """What differs between plain feedparser's reading of a feed and ours (titles compared as clean text)."""
    problems = []
    if len(plain.entries) != ours.entries:
        problems.append(f"entries {len(plain.entries)} vs {ours.entries}")
    by_url = {a.url: a for a in ours.articles}
    titles = links = dates = 0
    for entry in plain.entries:
        article = by_url.get(canonical_url(urljoin(BASE_URL, entry.get("link", ""))))
        if article is None:
            links += 1
            continue
        if clean_line(html.unescape(entry.get("title", ""))) != article.title:
            titles += 1
        expected = _utc(entry.get("published_parsed")) or _utc(entry.get("updated_parsed"))
        if expected != article.published:
            dates += 1
    for name, count in (("links", links), ("titles", titles), ("dates", dates)):
        if count:
            problems.append(f"{count} {name} differ")
    return problems


def main() -> int:
    """Run the benchmark and print the table; exit status 1 when the ratio or the agreement check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per feed and parser (median)")
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS, help="folder of *.xml feeds")
    args = parser.parse_args()
    files = sorted(args.feeds.glob("*.xml"))
    if not files:
        print(f"no *.xml feeds in {args.feeds}", file=sys.stderr)
        return 2

    print(f"{'feed':<24}{'items':>6}{'feedparser it/s':>17}{'parse_feed it/s':>17}{'ratio':>7}  agree")
    total_items = 0
    total_plain = total_ours = 0.0
    all_agree = True
    for path in files:
        body = path.read_bytes()
        plain = feedparser.parse(body)
        ours = parse_feed(body, HEADERS, outlet=path.stem, base_url=BASE_URL)
        items = len(plain.entries)
        t_plain, t_ours = _median_cpu_seconds(
            [
                lambda b=body: feedparser.parse(b),
                lambda b=body, n=path.stem: parse_feed(b, HEADERS, outlet=n, base_url=BASE_URL),
            ],
            args.repeat,
        )
        problems = _disagreements(plain, ours)
        all_agree &= not problems
        total_items += items
        total_plain += t_plain
        total_ours += t_ours
        print(
            f"{path.stem:<24}{items:>6}{items / t_plain:>17,.0f}{items / t_ours:>17,.0f}"
            f"{t_plain / t_ours:>7.2f}  {'yes' if not problems else '; '.join(problems)}"
        )
    ratio = total_plain / total_ours
    print(
        f"{'TOTAL':<24}{total_items:>6}{total_items / total_plain:>17,.0f}{total_items / total_ours:>17,.0f}"
        f"{ratio:>7.2f}  {'yes' if all_agree else 'NO'}"
    )
    print(f"\ntarget ratio ≥ {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print("reproduce: .venv/bin/python bench/bench_parse.py --repeat", args.repeat)
    return 0 if ratio >= TARGET_RATIO and all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
