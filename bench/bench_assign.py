"""Benchmark of the event core: per-article assign time as the index grows, throughput, memory.

Run from the repo root: .venv/bin/python -m bench.bench_assign [--quick]
Synthetic articles: a Zipf vocabulary of 30,000 made-up words, events of 1–6 reports that share
names and topic words but are written independently, some wire reprints; one article per 2 s of
clock, so 100,000 articles span 2.3 days and all stay inside the retention window.

The growth table and the first memory row use short articles (~6 sentences, as since the first
measurement, so the figures stay comparable); the second memory row holds full texts, the heavier case.
Throughput uses articles shaped like real ones and the shipped topic rules
(config/topics.toml through bot.settings.load_topics), in two mixes:
- full text: lengths drawn to match the ECB+ documents in ../shared (median ≈ 1,400 characters,
  10th–90th percentile ≈ 360–4,100) and the seeds (≈ 3,400), English function words mixed in, one to
  three sentences per paragraph, outlet furniture lines (bylines, PUBLISHED lines, READ MORE links,
  Telegram prompts) and wire copies with lost apostrophes, as in the seeds;
- feed items: what the 12 real feeds in ../shared/data/feeds/news-2026-02 carry: 93 % one- or
  two-sentence summaries (median ≈ 160 characters), 7 % full text (one feed, median ≈ 2,600).
Every article names both countries in its title or lead, so the real rules pass it and it is clustered.
Beside them, the real ECB+ documents (topics 1–35, as eval replays them, no topic rules) are timed one at
a time, a cycle's worth and a replay chunk at a time, when ../shared is beside the checkout.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import multiprocessing
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bot.core.cluster import EventIndex
from bot.core.events import Arrival, EventTracker
from bot.models import Article
from bot.replay import REPLAY_BATCH, normalize_text, parse_line
from bot.settings import load_topics
from eval import eval_ecbplus
from eval.common import SHARED, bcubed

REPO = Path(__file__).resolve().parents[1]
# Matched articles per poll cycle in the throughput table (besides 1): a busy topic channel's cycle. The
# tracker ranks each touched event's headline and summary once per cycle, as the live pipeline does.
CYCLE = 50
T0 = datetime(2031, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")
_ECBPLUS = SHARED / "data" / "ecbplus"  # the real ECB+ documents, when ../shared is beside the checkout


def _word_list(words: str) -> list[str]:
    """The whitespace-separated words of a literal block."""
    return words.split()


_SYLLABLES = ["ka", "lo", "ri", "mu", "ten", "sa", "vor", "el", "ni", "dra", "po", "qu", "zen", "ma", "tor", "bel"]
# English function words, most frequent first: about 45 % of the words of a news text are of this kind.
_FUNCTION_WORDS = _word_list(
    "the of to and a in that for on said is was with by as at from it his has be have are were an its "
    "will their would not but which after who had been this they more also over two than up about into"
)
# Names and words that make the shipped topic rules match (title rule, or the lead rule with a tie word).
_KOREA = ["North Korea", "North Korean", "Pyongyang", "Kim Jong Un", "KCNA"]
_CHINA = ["China", "Chinese", "Beijing", "Xi Jinping", "Wang Yi"]
_TIES = ["visit", "talks", "trade", "border", "sanctions", "envoy", "relations", "message"]
# Outlet furniture lines as the seeds carry them; the summary must skip every one.
_FURNITURE = (
    "PUBLISHED : Thursday, 26 October, 2031, 12:54pm",
    "UPDATED : Thursday, 26 October, 2031, 6:53pm",
    "By Jana Ruskova and Ole Brandt",
    "READ MORE: Border trade resumes after three years",
    "Join our Telegram channel for the latest updates.",
    "A version of this article appeared in the print edition on October 27, 2031.",
    "PHOTO: Meridian Pictures",
)


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


class RealisticCorpus(Corpus):
    """Synthetic news shaped like real articles: lengths, function words, furniture, topic names."""

    def prose(self, names: list[str], topic: list[str], n: int) -> str:
        """A sentence of n words: the event's names and topic words, function words, common words."""
        out = []
        for _ in range(n):
            r = self.rng.random()
            if r < 0.08:
                # Possessives as the seeds have them; wire copies below lose some apostrophes.
                out.append(self.rng.choice(names) + ("’s" if self.rng.random() < 0.2 else ""))
            elif r < 0.2:
                out.append(self.rng.choice(topic))
            elif r < 0.65:
                out.append(self.rng.choice(_FUNCTION_WORDS))
            else:
                out.append(self.word())
        if self.rng.random() < 0.3:
            out.insert(self.rng.randint(0, len(out)), self.rng.choice(_KOREA + _CHINA))
        return out[0][0].upper() + out[0][1:] + " " + " ".join(out[1:]) + "."

    def full_text(self, names: list[str], topic: list[str]) -> str:
        """Paragraphs of one to three sentences up to a length drawn like ECB+ documents'."""
        # Log-normal with the ECB+ median (1,400 chars) and spread (90th percentile ≈ 4,100).
        target = min(20_000, max(200, int(1_400 * math.exp(self.rng.gauss(0.0, 0.84)))))
        lead = f"{self.rng.choice(_KOREA)} and {self.rng.choice(_CHINA)} {self.rng.choice(_TIES)} " + self.prose(
            names, topic, self.rng.randint(14, 26)
        )
        paras = [lead]
        size = len(lead)
        while size < target:
            k = self.rng.choice([1, 1, 2, 2, 3])
            para = " ".join(self.prose(names, topic, self.rng.randint(12, 32)) for _ in range(k))
            if self.rng.random() < 0.08:
                para = self.rng.choice(_FURNITURE)
            paras.append(para)
            size += len(para) + 1
        if self.rng.random() < 0.3:
            paras.insert(0, self.rng.choice(_FURNITURE))
        return "\n".join(paras)

    def summary_text(self, names: list[str], topic: list[str]) -> str:
        """A feed item's one- or two-sentence summary (the shared feeds: median ≈ 160 characters)."""
        lead = f"{self.rng.choice(_KOREA)} {self.rng.choice(_TIES)} with {self.rng.choice(_CHINA)}: "
        return lead + " ".join(
            self.prose(names, topic, self.rng.randint(10, 22)) for _ in range(self.rng.choice([1, 1, 2]))
        )

    def realistic(self, n: int, full_share: float) -> list[Article]:
        """n articles in arrival order; full_share of them full text, the rest feed summaries."""
        out: list[Article] = []
        pending: list[tuple[int, Article]] = []
        ev = 0
        while len(out) < n:
            ev += 1
            names = [self.word().capitalize() for _ in range(4)]
            topic = [self.word() for _ in range(12)]
            wire = ""
            for k in range(self.rng.choice([1, 1, 2, 2, 3, 4, 6])):
                full = self.rng.random() < full_share
                if full and wire and self.rng.random() < 0.25:
                    # A wire story republished by another outlet: furniture added, apostrophes lost or kept.
                    text = f"{self.rng.choice(_FURNITURE)}\n{wire}"
                    text = text.replace("’s", " s") if self.rng.random() < 0.5 else text
                elif full:
                    text = self.full_text(names, topic)
                    wire = wire or text
                else:
                    text = self.summary_text(names, topic)
                title = ""
                if self.rng.random() < 0.9:
                    words = [self.rng.choice(_KOREA), self.rng.choice(_TIES), self.rng.choice(_CHINA)]
                    title = " ".join(words + [self.word() for _ in range(self.rng.randint(3, 8))])
                art = Article(f"r{ev}-{k}", f"Outlet {k % 9}", f"https://o{k}.example/{ev}/{k}", title, text, None)
                pending.append((len(out) + self.rng.randint(0, 40), art))
            pending.sort(key=lambda p: p[0])
            while pending and (pending[0][0] <= len(out) or len(pending) > 40):
                out.append(_dated(pending.pop(0)[1], len(out)))
        return out[:n]


def _dated(art: Article, i: int) -> Article:
    """The article with a publication time of i × 2 s."""
    when = T0 + timedelta(seconds=2 * i)
    return Article(art.id, art.outlet, art.url, art.title, art.text, when)


def _assign_time(sizes: list[int], probe: int, chunks: int = 5) -> list[tuple[int, float]]:
    """assign() time per article over `probe` articles after the index holds each of `sizes` articles.

    The probe is timed in `chunks` parts (CPU time) and the median part taken: one disturbed moment of a
    shared machine then moves the figure no more than it moves one part.
    """
    corpus = Corpus()
    stream = corpus.articles(max(sizes) + probe * len(sizes) + 10)
    idx = EventIndex()
    out: list[tuple[int, float]] = []
    held = 0
    per_chunk = probe // chunks
    for size in sizes:
        while held < size:
            a = next(stream)
            assert a.published is not None
            idx.assign(a, a.published)
            held += 1
        gc.collect()
        times = []
        for _ in range(chunks):
            batch = [next(stream) for _ in range(per_chunk)]
            start = time.process_time()
            for a in batch:
                assert a.published is not None
                idx.assign(a, a.published)
            times.append((time.process_time() - start) / per_chunk)
        out.append((len(idx), statistics.median(times)))
        held += per_chunk * chunks
    return out


def _throughput(n: int, full_share: float, repeats: int, cycle: int) -> tuple[float, float, int]:
    """Articles/s through normalise → match → assign → summarise: median over repeats, chars, matched.

    The matched articles go to the tracker `cycle` at a time, as a poll cycle's do (EventTracker.add_many):
    each touched event's headline and summary are ranked once per cycle; cycle=1 ranks after every article.
    """
    raw = RealisticCorpus(seed=11).realistic(n, full_share)
    rules = load_topics(REPO / "config" / "topics.toml")
    rates = []
    matched = 0
    for _ in range(repeats):
        tracker = EventTracker()
        matched = 0
        arrivals: list[Arrival] = []
        gc.collect()
        # CPU time of this process (single-threaded): other work on the machine barely moves it.
        start = time.process_time()
        for a in raw:
            art = Article(a.id, a.outlet, a.url, normalize_text(a.title), normalize_text(a.text), a.published)
            match = rules.match_article(art)
            if not match.matched:
                continue
            matched += 1
            assert art.published is not None
            arrivals.append((art, match.terms, art.published))
            if len(arrivals) >= cycle:
                tracker.add_many(arrivals)
                arrivals.clear()
        tracker.add_many(arrivals)
        rates.append(n / (time.process_time() - start))
    return statistics.median(rates), statistics.median(len(a.text) for a in raw), matched


def _grouping(n: int, full_share: float) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of the throughput table's synthetic stream, its story ids as gold.

    Ids are "r{story}-{report}". The stream's reports of one story share only that story's few names and topic
    words, said again and again, and every item names the topic's countries: a check that grouping still holds
    on it, not a measure of real news (eval/ has those).
    """
    idx = EventIndex()
    event: dict[str, str] = {}
    for a in RealisticCorpus(seed=11).realistic(n, full_share):
        assert a.published is not None
        event[a.id] = idx.assign(a, a.published).event_id
    scores = bcubed(event, {aid: aid.split("-")[0] for aid in event})
    return scores.precision, scores.recall, scores.f1


def _ecbplus_articles() -> list[Article]:
    """The real ECB+ documents (topics 1-35) as eval replays them, parsed; empty without ../shared."""
    if not _ECBPLUS.is_dir():
        return []
    recs, _ = eval_ecbplus.records()
    return [a for a in (parse_line(json.dumps(r))[0] for r in recs) if a is not None]


def _ecbplus_rate(batch: int, repeats: int = 3) -> tuple[float, int]:
    """Articles/s of the ECB+ documents through the tracker `batch` at a time (median), and how many there are.

    No topic rules, as eval replays them; loaded here, since it runs in a fresh process.
    """
    articles = _ecbplus_articles()
    rates = []
    for _ in range(repeats):
        tracker = EventTracker()
        gc.collect()
        start = time.process_time()
        for i in range(0, len(articles), batch):
            tracker.add_many([(a, (), a.published or T0) for a in articles[i : i + batch]])
        rates.append(len(articles) / (time.process_time() - start))
    return statistics.median(rates), len(articles)


def _rss_kb() -> int:
    """Resident set size of this process in KiB (Linux), 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory_of(full_text: bool, traced: bool) -> tuple[float, int]:
    """_memory of the memory table's articles (10,000 short ones, or 5,000 full texts), its caches warm."""
    articles = RealisticCorpus(seed=5).realistic(5_000, 1.0) if full_text else list(Corpus(seed=5).articles(10_000))
    # The term and stem caches fill once per process and are bounded: they are not the index's memory.
    warm = EventIndex()
    for a in articles:
        warm.term_weights(a.title, a.text)
    return _memory(articles, traced)


def _fresh(fn: Callable[..., _T], *args: object) -> _T:
    """fn(*args) in a new interpreter, so that no row inherits an earlier one's heap, caches or freed pages.

    In one process, the throughput rows ran after the growth probe's 101,000-article index and gave 5–12 %
    fewer articles a second than the same rows run alone; the RSS figure of any memory row but the first
    said little, as the allocator reused pages already resident.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _memory(articles: list[Article], traced: bool) -> tuple[float, int]:
    """Index memory per article held, and how many are held.

    traced: Python allocations (tracemalloc); else the growth of the resident set (Linux), which also holds the
    allocators' spare room and anything allocated outside Python's tracing. Not both at once: tracemalloc's
    own records would swell it.
    """
    gc.collect()
    rss0 = _rss_kb()
    if traced:
        tracemalloc.start()
    idx = EventIndex()
    for a in articles:
        assert a.published is not None
        idx.assign(a, a.published)
    gc.collect()
    if traced:
        used = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    else:
        used = (_rss_kb() - rss0) * 1024
    return used / len(idx), len(idx)


def main() -> None:
    """Print the benchmark table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (1k/10k/30k) for a fast look")
    args = ap.parse_args()
    sizes = [1_000, 10_000, 30_000] if args.quick else [1_000, 10_000, 100_000]
    print("per-article assign() time as the index grows (synthetic articles, ~6 sentences each)")
    rows = _fresh(_assign_time, sizes, 1_000)
    base = rows[0][1]
    print(f"{'articles in index':>18}  {'µs/article':>10}  {'vs 1,000':>8}")
    for held, sec in rows:
        print(f"{held:>18,}  {sec * 1e6:>10.0f}  {sec / base:>7.2f}x")
    n, repeats = (2_000, 3) if args.quick else (5_000, 3)
    print(f"\nthroughput normalise → match → assign → summarise ({n:,} articles, config/topics.toml)")
    print(f"CPU time of a fresh process per row, median of {repeats} runs")
    print(f"{'articles':>38}  {'median chars':>12}  {'clustered':>9}  {'per cycle':>9}  {'articles/s':>10}")
    for label, share in (("full text (ECB+/seed lengths)", 1.0), ("feed items (12 shared feeds' mix)", 0.07)):
        for cycle in (1, CYCLE):
            rate, chars, matched = _fresh(_throughput, n, share, repeats, cycle)
            print(f"{label:>38}  {chars:>12,.0f}  {matched / n:>8.0%}  {cycle:>9}  {rate:>10,.0f}")
    shown = ", ".join(
        "{} P {:.3f} R {:.3f} F1 {:.3f}".format(label, *_fresh(_grouping, n, share))
        for label, share in (("full texts", 1.0), ("feed items", 0.07))
    )
    print(f"grouping of those streams (B-cubed, their story ids as gold): {shown}")
    if _ECBPLUS.is_dir():
        # One at a time, a poll cycle's worth, and the chunks `wirewatch replay` hands over.
        rates = [(batch, *_fresh(_ecbplus_rate, batch)) for batch in (1, CYCLE, REPLAY_BATCH)]
        shown = ", ".join(f"{rate:,.0f}/s {batch:,} at a time" for batch, rate, _ in rates)
        print(f"real ECB+ documents ({rates[0][2]:,}) through the tracker, no topic rules: {shown}")
    print("\nindex memory per article (target 10 KB = 9.77 KiB)")
    print(f"{'articles':>38}  {'held':>6}  {'KiB Python (tracemalloc)':>24}  {'KiB resident (RSS growth)':>29}")
    for label, full_text in (("short (~6 sentences)", False), ("full text (ECB+/seed lengths)", True)):
        py, held = _fresh(_memory_of, full_text, True)
        rss, _ = _fresh(_memory_of, full_text, False)
        print(f"{label:>38}  {held:>6,}  {py / 1024:>24.2f}  {rss / 1024:>29.2f}")
    print("\nreproduce: .venv/bin/python -m bench.bench_assign")


if __name__ == "__main__":
    main()
