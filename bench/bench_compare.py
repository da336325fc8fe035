"""Throughput of two checkouts side by side: the same articles through each tree's own event core.

Run from the repo root: .venv/bin/python -m bench.bench_compare OLD_TREE [NEW_TREE] [--feed-items]
OLD_TREE is another checkout (e.g. `git worktree add /tmp/old <commit>`); NEW_TREE defaults to this one.
The articles come from this tree's bench_assign corpus, written once to a temporary file; each tree then
runs normalise → match → assign → summarise over them in fresh processes, alternating, so machine noise
falls on both alike. Each process reports its best of three passes (CPU time); the table gives the
median over rounds and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_assign import REPO, RealisticCorpus
from eval.common import article_record, write_jsonl

# What each tree runs: its own bot package, the shared articles, the shipped topic rules.
_CHILD = """
import gc, json, sys, time
from datetime import datetime
from bot.core.events import EventTracker
from bot.models import Article
from bot.replay import normalize_text
from bot.settings import load_topics
from pathlib import Path
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
raw = [Article(r["id"], r["outlet"], r["url"], r["title"], r["text"], datetime.fromisoformat(r["published"]))
       for r in rows]
rules = load_topics(Path("config") / "topics.toml")
best = 0.0
for _ in range(3):
    tracker = EventTracker()
    gc.collect()
    start = time.process_time()
    for a in raw:
        art = Article(a.id, a.outlet, a.url, normalize_text(a.title), normalize_text(a.text), a.published)
        match = rules.match_article(art)
        if match.matched:
            tracker.add(art, match.terms, art.published)
    best = max(best, len(raw) / (time.process_time() - start))
print(best)
"""


def _articles_file(folder: Path, n: int, full_share: float) -> Path:
    """Write the benchmark articles as JSON lines (times as ISO strings)."""
    path = folder / "articles.jsonl"
    write_jsonl(path, map(article_record, RealisticCorpus(seed=11).realistic(n, full_share)))
    return path


def _rate(tree: Path, articles: Path) -> float:
    """Articles per CPU-second of one fresh process running `tree`'s code."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(articles)],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{tree}: the benchmark failed:\n{done.stderr.strip()}")
    return float(done.stdout.strip())


def main() -> None:
    """Print the side-by-side table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path, help="the other checkout (its bot/ and config/ are used)")
    ap.add_argument("new", type=Path, nargs="?", default=REPO, help="default: this checkout")
    ap.add_argument("--feed-items", action="store_true", help="the feed-item mix instead of full texts")
    ap.add_argument("--articles", type=int, default=2_000, help="articles per pass (default 2,000)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = ap.parse_args()
    for tree in (args.old, args.new):
        if not (tree / "bot").is_dir():
            sys.exit(f"{tree}: not a Wirewatch checkout (no bot/ folder)")
    share = 0.07 if args.feed_items else 1.0
    rates: dict[Path, list[float]] = {args.old: [], args.new: []}
    with tempfile.TemporaryDirectory(prefix="wirewatch-compare-") as tmp:
        articles = _articles_file(Path(tmp), args.articles, share)
        for done in range(args.rounds):
            for tree in (args.old, args.new):
                rates[tree].append(_rate(tree, articles))
            print(f"round {done + 1}/{args.rounds} done", file=sys.stderr)
    old, new = statistics.median(rates[args.old]), statistics.median(rates[args.new])
    mix = "feed items (12 shared feeds' mix)" if args.feed_items else "full text (ECB+/seed lengths)"
    print(f"{mix}, {args.articles:,} articles, median of {args.rounds} rounds, best of 3 passes each")
    print(f"{'tree':>10}  {'articles/s':>10}")
    print(f"{'old':>10}  {old:>10,.0f}")
    print(f"{'new':>10}  {new:>10,.0f}")
    print(f"{'new/old':>10}  {new / old:>9.2f}x")


if __name__ == "__main__":
    main()
