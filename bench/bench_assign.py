"""Benchmark of the event core: per-article assign time as the index grows, throughput, memory.

Run from the repo root: .venv/bin/python -m bench.bench_assign [--quick]
Synthetic articles: a Zipf vocabulary of 30,000 made-up words, events of 1–6 reports that share
names and topic words but are written independently, some wire reprints; one article per 2 s of
clock, so 100,000 articles span 2.3 days and all stay inside the retention window.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import time
import tomllib
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.cluster import EventIndex
from bot.core.events import EventTracker
from bot.models import Article, TopicMatch
from bot.replay import normalize_text

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2031, 1, 1, tzinfo=UTC)
_SYLLABLES = ["ka", "lo", "ri", "mu", "ten", "sa", "vor", "el", "ni", "dra", "po", "qu", "zen", "ma", "tor", "bel"]


class Corpus:
    """Deterministic synthetic news: events with their own names and topic words, several reports each."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        words: set[str] = set()
        while len(words) < 30_000:
            words.add("".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 4))))
        self.vocab = sorted(words)
        self.cum = []
        total = 0.0
        for rank in range(1, len(self.vocab) + 1):
            total += 1.0 / rank
            self.cum.append(total)

    def word(self) -> str:
        """A Zipf-distributed common word."""
        x = self.rng.random() * self.cum[-1]
        lo, hi = 0, len(self.cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return self.vocab[lo]

    def sentence(self, names: list[str], topic: list[str], n: int) -> str:
        """A sentence mixing the event's names and topic words into common words."""
        out = []
        for _ in range(n):
            r = self.rng.random()
            if r < 0.12:
                out.append(self.rng.choice(names))
            elif r < 0.3:
                out.append(self.rng.choice(topic))
            else:
                out.append(self.word())
        return out[0].capitalize() + " " + " ".join(out[1:]) + "."

    def articles(self, n: int) -> Iterator[Article]:
        """n articles in arrival order: events interleave, each with 1–6 reports over a few hours."""
        pending: list[tuple[int, Article]] = []
        i = 0
        ev = 0
        while i < n:
            ev += 1
            names = [self.word().capitalize() for _ in range(4)]
            topic = [self.word() for _ in range(12)]
            reports = self.rng.choice([1, 1, 2, 2, 3, 4, 6])
            wire_text = ""
            for k in range(reports):
                if k > 0 and wire_text and self.rng.random() < 0.25:
                    text = "Related: something else\n" + wire_text.replace(" was ", " had been ")
                else:
                    text = "\n".join(self.sentence(names, topic, self.rng.randint(12, 24)) for _ in range(6))
                    wire_text = wire_text or text
                title = self.sentence(names, topic, 9).rstrip(".")
                delay = self.rng.randint(0, 40)
                pending.append(
                    (
                        i + delay,
                        Article(f"a{ev}-{k}", f"Outlet {k % 9}", f"https://o{k}.example/{ev}/{k}", title, text, None),
                    )
                )
            pending.sort(key=lambda p: p[0])
            while pending and pending[0][0] <= i:
                _, art = pending.pop(0)
                yield _dated(art, i)
                i += 1
                if i >= n:
                    return
            if not pending:
                continue
            _, art = pending.pop(0)
            yield _dated(art, i)
            i += 1


def _dated(art: Article, i: int) -> Article:
    """The article with a publication time of i × 2 s."""
    when = T0 + timedelta(seconds=2 * i)
    return Article(art.id, art.outlet, art.url, art.title, art.text, when)


def _assign_time(sizes: list[int], probe: int) -> list[tuple[int, float]]:
    """Mean assign() time over `probe` articles after the index holds each of `sizes` articles."""
    corpus = Corpus()
    stream = corpus.articles(max(sizes) + probe * len(sizes) + 10)
    idx = EventIndex()
    out: list[tuple[int, float]] = []
    held = 0
    for size in sizes:
        while held < size:
            a = next(stream)
            assert a.published is not None
            idx.assign(a, a.published)
            held += 1
        batch = [next(stream) for _ in range(probe)]
        gc.collect()
        start = time.perf_counter()
        for a in batch:
            assert a.published is not None
            idx.assign(a, a.published)
        out.append((len(idx), (time.perf_counter() - start) / probe))
        held += probe
    return out


def _stand_in_matcher() -> tuple[Callable[[Article], TopicMatch], str]:
    """The real topic rules from config/topics.toml when present, else a keyword stand-in."""
    try:
        from bot.core.topics import build_topic_rules

        data = tomllib.loads((REPO / "config" / "topics.toml").read_text(encoding="utf-8"))
        rules = build_topic_rules(data)
        return (lambda a: rules.match(a.title, a.text)), "config/topics.toml (real rules)"
    except Exception as exc:  # any failure: fall back so the benchmark still runs
        kw = re.compile(r"\b(korea|china|pyongyang|beijing)\b", re.IGNORECASE)

        def stand_in(a: Article) -> TopicMatch:
            """Keyword stand-in for the topic rules."""
            return TopicMatch(bool(kw.search(a.title) or kw.search(a.text)), ())

        return stand_in, f"keyword stand-in ({type(exc).__name__})"


def _throughput(n: int) -> tuple[float, str]:
    """Articles/s through normalise → match → assign → summarise (every article is clustered)."""
    corpus = Corpus(seed=11)
    raw = list(corpus.articles(n))
    matcher, which = _stand_in_matcher()
    tracker = EventTracker()
    gc.collect()
    start = time.perf_counter()
    for a in raw:
        art = Article(a.id, a.outlet, a.url, normalize_text(a.title), normalize_text(a.text), a.published)
        match = matcher(art)
        assert art.published is not None
        tracker.add(art, match.terms, art.published)
    return n / (time.perf_counter() - start), which


def _rss_kb() -> int:
    """Resident set size of this process in KiB (Linux), 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory(n: int) -> tuple[float, float]:
    """Index memory per article: Python allocations (tracemalloc) and RSS growth (includes the Rust LSH)."""
    articles = list(Corpus(seed=5).articles(n))
    gc.collect()
    rss0 = _rss_kb()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    idx = EventIndex()
    for a in articles:
        assert a.published is not None
        idx.assign(a, a.published)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    rss = (_rss_kb() - rss0) * 1024
    return used / len(idx), rss / len(idx)


def main() -> None:
    """Print the benchmark table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (1k/10k/30k) for a fast look")
    args = ap.parse_args()
    sizes = [1_000, 10_000, 30_000] if args.quick else [1_000, 10_000, 100_000]
    print("per-article assign() time as the index grows (synthetic articles, ~6 sentences each)")
    rows = _assign_time(sizes, probe=1_000)
    base = rows[0][1]
    print(f"{'articles in index':>18}  {'µs/article':>10}  {'vs 1,000':>8}")
    for held, sec in rows:
        print(f"{held:>18,}  {sec * 1e6:>10.0f}  {sec / base:>7.2f}x")
    rate, which = _throughput(5_000)
    print(f"\nthroughput normalise → match → assign → summarise: {rate:,.0f} articles/s (one core; matcher: {which})")
    py, rss = _memory(10_000)
    print(
        f"index memory per article at 10,000 articles: {py / 1024:.1f} KiB Python (tracemalloc), "
        f"{rss / 1024:.1f} KiB RSS growth (includes rensa's LSH)"
    )
    print("\nreproduce: .venv/bin/python -m bench.bench_assign")


if __name__ == "__main__":
    main()
