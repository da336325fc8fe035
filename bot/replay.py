"""`wirewatch replay`: run the live event core over a JSONL file of articles, article times as the clock."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.core.events import Arrival, EventTracker
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article, Event, TopicMatch

# Used only when no line of the file carries a usable date: any fixed instant keeps replays deterministic.
_FALLBACK_CLOCK = datetime(2000, 1, 1, tzinfo=UTC)
# Articles handed to the tracker at once, as a poll cycle's are: an event's headline and summary are
# ranked once per batch, not once per report (the tracker 1.1–1.3× faster on ECB+, docs/benchmarks.md),
# and memory stays bounded.
REPLAY_BATCH = 1000
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Whether a text needs either regex is asked of its UTF-8 bytes, with bytes.translate deleting bytes
# (≈ 1 ns a character, where a character-set regex costs ≈ 5–8). Control characters are single bytes in
# UTF-8, never part of a longer sequence; deleting every ASCII byte leaves the multi-byte sequences whole
# and side by side, a few bytes to search for the non-ASCII blanks.
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0B, 0x20)) + b"\x7f"
_ASCII_BYTES = bytes(range(0x80))
# The non-ASCII blanks _SPACES folds (U+00A0, U+2000–U+200B, U+3000) as UTF-8. Where none occurs, nor a tab,
# nor two spaces together, _SPACES has no work.
_WIDE_BLANK_UTF8 = re.compile(rb"\xc2\xa0|\xe2\x80[\x80-\x8b]|\xe3\x80\x80")


@dataclass(slots=True)
class ReplayStats:
    """What one replay did: counts, the malformed lines it skipped and how long it took."""

    lines: int = 0
    articles: int = 0  # well-formed article lines
    matched: int = 0  # articles that passed the topic rules (all of them with no matcher)
    duplicates: int = 0
    events: int = 0
    seconds: float = 0.0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, what was wrong)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # kept lines with an unusable field

    @property
    def rate(self) -> float:
        """Well-formed articles a second so far (0 before any time has passed)."""
        return self.articles / self.seconds if self.seconds > 0 else 0.0

    def progress_line(self) -> str:
        """One line on a replay still running, for the CLI's progress reports."""
        return f"replay: {self.lines:,} lines read, {self.events:,} events so far, {self.rate:,.0f} articles/s"

    def describe(self) -> str:
        """One readable line for the CLI."""
        return (
            f"replay: {self.lines:,} lines, {self.articles:,} articles, {self.matched:,} matched, "
            f"{self.duplicates:,} duplicates, {self.events:,} events, {len(self.errors):,} malformed lines skipped, "
            f"{self.seconds:.2f} s ({self.rate:,.0f} articles/s)"
        )


class ProgressEvery:
    """A replay progress callback that passes the stats on at most once per `interval_s`, first after one interval.

    A replay of a few seconds reports nothing but its summary; a long one says how far it got.
    """

    def __init__(
        self,
        report: Callable[[ReplayStats], object],
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.report = report
        self.interval_s = interval_s
        self.clock = clock
        self.next_at = clock() + interval_s

    def __call__(self, stats: ReplayStats) -> None:
        now = self.clock()
        if now >= self.next_at:
            self.report(stats)
            self.next_at = now + self.interval_s


def normalize_text(text: str) -> str:
    """Plain text with runs of spaces collapsed, control characters removed and blank lines dropped."""
    text = text.replace("\r\n", "\n")
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that match neither test
    if len(raw.translate(None, _CONTROL_BYTES)) != len(raw):
        text = _CONTROL.sub(" ", text)
    # _SPACES replaces every single space by itself (a match per word, ≈ 30 µs on a news text): run it
    # only when there is something to collapse. It never matches a line break, so one pass over the
    # whole text equals one per line; then each line is stripped and empty ones dropped, all in C.
    if "  " in text or "\t" in text or _WIDE_BLANK_UTF8.search(raw.translate(None, _ASCII_BYTES)) is not None:
        text = _SPACES.sub(" ", text)
    return "\n".join(filter(None, map(str.strip, text.split("\n"))))


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string as aware UTC (naive means UTC); None when missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_line(raw: str) -> tuple[Article | None, str | None, str | None]:
    """One input line → (article, error, warning); an error means the line is skipped."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg})", None
    if not isinstance(obj, dict):
        return None, "not a JSON object", None
    art_id = obj.get("id")
    if isinstance(art_id, int) and not isinstance(art_id, bool):
        art_id = str(art_id)
    if not isinstance(art_id, str) or not art_id.strip():
        return None, "missing or empty 'id'", None
    fields: dict[str, str] = {}
    for key in ("outlet", "url", "title", "text"):
        value = obj.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            return None, f"'{key}' is not a string", None
        fields[key] = value
    published = parse_time(obj.get("published"))
    warning = None
    if published is None and obj.get("published") not in (None, ""):
        warning = f"unreadable 'published' {obj.get('published')!r}: using the previous clock"
    article = Article(
        id=art_id.strip(),
        outlet=normalize_text(fields["outlet"]).replace("\n", " "),
        url=fields["url"].strip(),
        title=normalize_text(fields["title"]).replace("\n", " "),
        text=normalize_text(fields["text"]),
        published=published,
    )
    return article, None, warning


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines of a UTF-8 file (a BOM is tolerated, bad bytes are replaced)."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                yield n, line


def _first_clock(path: Path) -> datetime:
    """The first usable publication time in the file: the clock for undated lines before it."""
    for _, raw in _lines(path):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and (t := parse_time(obj.get("published"))) is not None:
            return t
    return _FALLBACK_CLOCK


def event_record(event: Event) -> dict[str, Any]:
    """The replay output line of one event."""
    return {
        "event_id": event.id,
        "article_ids": list(event.article_ids),
        "outlets": list(event.outlets),
        "headline": event.headline,
        "summary": event.summary,
        "follows": event.follows,
        "matched_terms": list(event.matched_terms),
    }


def run_replay(
    in_path: Path,
    out_path: Path,
    *,
    matcher: Callable[[Article], TopicMatch] | None,
    errors: TextIO | None = None,
    params: ClusterParams = DEFAULT_PARAMS,
    batch_size: int = REPLAY_BATCH,
    progress: Callable[[ReplayStats], None] | None = None,
) -> ReplayStats:
    """Replay a JSONL file of articles through the event core and write one JSONL line per event.

    matcher None means --no-filter. Malformed lines are skipped and listed in the returned stats (and
    written to `errors`, e.g. sys.stderr, as "PATH:LINE: skipped: reason"). The output does not depend on
    batch_size, the articles handed to the tracker at once. `progress`, when given, sees the stats so far
    as each line is read (events counted up to the last batch handed over).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    started = time.perf_counter()
    stats = ReplayStats()
    tracker = EventTracker(params)
    events: dict[str, Event] = {}  # every event ever made, latest state; evicted ones stay here
    batch: list[Arrival] = []

    def flush() -> None:
        for update in tracker.add_many(batch):
            if update.change == "unchanged":
                stats.duplicates += 1
            events[update.event.id] = update.event
        batch.clear()

    clock = _first_clock(in_path)
    for n, raw in _lines(in_path):
        stats.lines += 1
        if progress is not None:  # per line read, not per batch: a filter may let few lines through
            stats.events = len(events)
            stats.seconds = time.perf_counter() - started
            progress(stats)
        article, error, warning = parse_line(raw)
        if article is None:
            stats.errors.append((n, error or "malformed"))
            if errors is not None:
                print(f"{in_path}:{n}: skipped: {error}", file=errors)
            continue
        if warning is not None:
            stats.warnings.append((n, warning))
        stats.articles += 1
        # The clock never runs backwards, so late-arriving older articles cannot un-evict anything.
        if article.published is not None and article.published > clock:
            clock = article.published
        terms: tuple[str, ...] = ()
        if matcher is not None:
            match = matcher(article)
            if not match.matched:
                continue
            terms = match.terms
        stats.matched += 1
        batch.append((article, terms, clock))
        if len(batch) >= batch_size:
            flush()
    flush()
    stats.events = len(events)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for event in events.values():
            fh.write(json.dumps(event_record(event), ensure_ascii=False) + "\n")
    tmp.replace(out_path)
    stats.seconds = time.perf_counter() - started
    return stats
