"""One poll cycle: fetch the due feeds, parse, store, match, group into events and fill the outbox."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.adapters.fetch import Fetcher, FetchResult
from bot.adapters.store import CycleRecord, FeedState, Store
from bot.core.events import Arrival, EventTracker
from bot.core.feedparse import ParsedFeed, parse_feed
from bot.core.render_telegram import format_utc
from bot.core.topics import TopicRules
from bot.errors import FetchError, ParseError
from bot.models import Article, EventUpdate, Feed

log = logging.getLogger(__name__)

FeedStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often and how politely feeds are polled; every number here is a default a user may change."""

    concurrency: int = 16  # feeds fetched at once: enough to hide latency, few enough to stay polite
    jitter: float = 0.1  # ±10 % on every interval so feeds sharing an interval do not poll in lockstep
    backoff_cap_s: int = 6 * 3600  # a failing feed is still retried at least every six hours
    # A server's Retry-After (429/503) is obeyed up to this long. A longer one is more likely a
    # misconfigured server than a plan, and a news feed must not go silent for days because of one header.
    retry_after_cap_s: int = 24 * 3600
    backlog: timedelta = timedelta(hours=24)  # older entries are stored but never alerted


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in a cycle (the `feeds` items of `poll --once --json`)."""

    name: str
    url: str
    status: FeedStatus
    http_status: int | None
    entries: int = 0
    new: int = 0
    error: str | None = None
    error_kind: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON contract's shape for one feed."""
        return {
            "name": self.name,
            "url": self.url,
            "status": self.status,
            "http_status": self.http_status,
            "entries": self.entries,
            "new": self.new,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class CycleReport:
    """The outcome of one poll cycle."""

    started: datetime
    finished: datetime
    feeds: tuple[FeedOutcome, ...]
    matched: int
    events: int  # events created or changed in this cycle

    @property
    def entries(self) -> int:
        """Entries read in every feed of the cycle."""
        return sum(f.entries for f in self.feeds)

    @property
    def new(self) -> int:
        """Articles never stored before."""
        return sum(f.new for f in self.feeds)

    @property
    def errors(self) -> int:
        """Feeds that failed."""
        return sum(1 for f in self.feeds if f.status == "error")

    def as_json(self) -> dict[str, Any]:
        """The `wirewatch poll --once --json` document."""
        return {
            "feeds": [f.as_json() for f in self.feeds],
            "entries": self.entries,
            "new": self.new,
            "matched": self.matched,
            "events": self.events,
        }

    def log_line(self) -> str:
        """One line with the cycle's counts, for the log."""
        seconds = (self.finished - self.started).total_seconds()
        return (
            f"cycle: {len(self.feeds)} feeds ({self.errors} failed), {self.entries} entries, "
            f"{self.new} new, {self.matched} matched, {self.events} events changed in {seconds:.2f} s"
        )


@dataclass(slots=True)
class _Fetched:
    """A feed's fetch and parse result, before it is written to the store."""

    feed: Feed
    state: FeedState
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FetchError | ParseError | None = None
    held_until: datetime | None = None  # not fetched: the server's Retry-After has not passed yet


class Pipeline:
    """Runs poll cycles: the wiring of fetch, parse, store, topic rules, event tracker and outbox."""

    def __init__(
        self,
        *,
        store: Store,
        fetcher: Fetcher,
        rules: TopicRules,
        tracker: EventTracker,
        sinks: Callable[[], Sequence[str]],
        clock: Callable[[], datetime],
        policy: PollPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.rules = rules
        self.tracker = tracker
        self.sinks = sinks
        self.clock = clock
        self.policy = policy or PollPolicy()
        self.rng = rng or random.Random()
        # True while the tracker holds articles of a cycle whose transaction did not commit.
        self._tracker_ahead = False

    def restore(self) -> int:
        """Rebuild the in-memory event index from the store after a start; return the events restored.

        The events of the tracker's retention window: older ones it would evict at once.
        """
        now = self.clock()
        events = self.store.events_since(now - self.tracker.params.retention)
        # One query for every restored event's articles, reported or not (a reprint its outlet re-served is
        # assigned but no report), each with the clock it arrived at, in the order the tracker first took them.
        self.tracker.restore_events(events, self.store.assigned_articles(e.id for e in events))
        return len(events)

    def due_feeds(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        """The feeds whose next poll time has come (or that were never polled)."""
        next_polls = self.store.next_polls()
        return [feed for feed in feeds if (when := next_polls.get(feed.name)) is None or when <= now]

    async def run_cycle(self, feeds: Sequence[Feed]) -> CycleReport:
        """Poll `feeds` once (concurrently, bounded), then store everything of the cycle in one transaction."""
        if self._tracker_ahead:
            # A failed cycle's transaction was rolled back after the tracker took its articles: rebuilt from
            # the store, the tracker takes them as new again when they are fetched again, and alerts them.
            self.tracker.clear()
            restored = self.restore()
            self._tracker_ahead = False
            log.info("event index rebuilt from the store after a failed cycle: %d events", restored)
        started = self.clock()
        self.store.sync_feeds(feeds)
        states = self.store.feed_states(feed.name for feed in feeds)  # one query, not one per feed
        gate = asyncio.Semaphore(self.policy.concurrency)
        fetched = await asyncio.gather(*(self._fetch_one(feed, states[feed.name], gate, started) for feed in feeds))
        now = self.clock()
        outcomes: list[FeedOutcome] = []
        arrivals: list[Arrival] = []
        matched = 0
        with self.store.transaction():
            for item in fetched:
                outcome, feed_matched, feed_arrivals = self._store_one(item, now)
                outcomes.append(outcome)
                matched += feed_matched
                arrivals.extend(feed_arrivals)
            self._tracker_ahead = True  # the tracker takes the cycle's articles; until the transaction commits
            changed = self._enqueue(self._assign_cycle(arrivals), now)
            report = CycleReport(
                started=started,
                finished=self.clock(),
                feeds=tuple(outcomes),
                matched=matched,
                events=changed,
            )
            self.store.record_cycle(
                CycleRecord(
                    started=report.started,
                    finished=report.finished,
                    feeds=len(report.feeds),
                    errors=report.errors,
                    entries=report.entries,
                    new=report.new,
                    matched=report.matched,
                    events=report.events,
                )
            )
        self._tracker_ahead = False
        self.tracker.evict(now)
        log.info(report.log_line())
        return report

    async def _fetch_one(self, feed: Feed, state: FeedState, gate: asyncio.Semaphore, now: datetime) -> _Fetched:
        """Fetch and parse one feed; failures are captured, never raised, so other feeds go on.

        A feed whose server asked to wait (Retry-After) is not fetched before that time, even when asked
        for explicitly (`poll --once` polls every feed): the schedule already skips it.
        """
        item = _Fetched(feed=feed, state=state)
        if state.retry_after_until is not None and state.retry_after_until > now:
            item.held_until = state.retry_after_until
            return item
        async with gate:
            try:
                item.result = await self.fetcher.fetch(
                    state.poll_url, etag=state.etag, last_modified=state.last_modified
                )
            except FetchError as exc:
                item.error = exc
                return item
        if item.result.status == "ok":
            try:
                # feedparser is pure Python and CPU-bound: keep it off the event loop.
                item.parsed = await asyncio.to_thread(
                    parse_feed,
                    item.result.body,
                    item.result.headers,
                    outlet=feed.name,
                    base_url=item.result.final_url or state.poll_url,
                )
            except ParseError as exc:
                item.error = exc
        return item

    def _next_poll(self, feed: Feed, now: datetime, failures: int) -> datetime:
        """Next poll time: the interval with jitter, doubled per consecutive failure up to the cap."""
        base = feed.interval_s * (2 ** min(failures, 16))
        seconds = min(base, max(self.policy.backoff_cap_s, feed.interval_s))
        seconds *= 1 + self.rng.uniform(-self.policy.jitter, self.policy.jitter)
        return now + timedelta(seconds=max(1.0, seconds))

    def _retry_after_until(self, error: Exception, now: datetime) -> datetime | None:
        """Until when the server asked not to be polled (its Retry-After, capped), or None when it did not."""
        seconds = getattr(error, "retry_after", None)
        if seconds is None or seconds <= 0:
            return None
        return now + timedelta(seconds=min(seconds, self.policy.retry_after_cap_s))

    def _store_one(self, item: _Fetched, now: datetime) -> tuple[FeedOutcome, int, list[Arrival]]:
        """Write one feed's outcome and new articles; return its outcome, matched count and what to assign."""
        feed, state, result = item.feed, item.state, item.result
        if item.held_until is not None:
            message = f"not polled: the server asked (Retry-After) to wait until {format_utc(item.held_until)}"
            log.info("feed %s %s", feed.name, message)
            return FeedOutcome(feed.name, feed.url, "error", None, error=message, error_kind="retry_after"), 0, []
        if item.error is not None:
            kind = getattr(item.error, "kind", "parse")
            http_status = getattr(item.error, "http_status", None) or (result.http_status if result else None)
            message = str(item.error)
            next_poll = self._next_poll(feed, now, state.consecutive_failures + 1)
            retry_until = self._retry_after_until(item.error, now)
            self.store.record_feed_failure(
                feed.name,
                kind=kind,
                message=message,
                http_status=http_status,
                now=now,
                next_poll=max(next_poll, retry_until) if retry_until else next_poll,
                retry_after_until=retry_until,
            )
            held = f"; Retry-After: not polled again before {format_utc(retry_until)}" if retry_until else ""
            log.warning("feed %s failed (%s): %s%s", feed.name, kind, message, held)
            return (
                FeedOutcome(feed.name, feed.url, "error", http_status, error=message, error_kind=kind),
                0,
                [],
            )
        assert result is not None
        if result.status == "not_modified":
            self._record_success(feed, result, 0, now)
            return FeedOutcome(feed.name, feed.url, "not_modified", result.http_status), 0, []
        assert item.parsed is not None
        articles = item.parsed.articles
        known = self.store.known_article_ids(a.id for a in articles)
        new = 0
        matched = 0
        arrivals: list[Arrival] = []
        for article in articles:
            if article.id in known:
                self.store.link_article_feed(article.id, feed.name, now)
                continue
            if article.guid and (other := self.store.known_guid(article.guid, article.title)) is not None:
                # The same GUID and title under a new URL: the same article, not a new one. A different
                # title under a reused GUID is another story (broken feeds give every item one GUID).
                self.store.link_article_feed(other, feed.name, now)
                continue
            known.add(article.id)
            new += 1
            match = self.rules.match(article.title, article.text)
            backlog = self._is_backlog(article, state, now)
            self.store.save_article(article, feed_name=feed.name, match=match, now=now, backlog=backlog)
            if not match.matched:
                continue
            matched += 1
            if not backlog:
                arrivals.append((article, match.terms, now))
        self._record_success(feed, result, len(articles), now)
        return FeedOutcome(feed.name, feed.url, "ok", result.http_status, len(articles), new), matched, arrivals

    def _assign_cycle(self, arrivals: Sequence[Arrival]) -> list[EventUpdate]:
        """Assign the cycle's matched articles to events and record each; return the updates that changed one.

        All at once, so an event that several outlets reported this cycle has its headline and summary
        ranked once.
        """
        updates = self.tracker.add_many(arrivals)
        for (article, _, _), update in zip(arrivals, updates, strict=True):
            self.store.assign_article(article.id, update.event.id)
        return [update for update in updates if update.change != "unchanged"]

    def _record_success(self, feed: Feed, result: FetchResult, entries: int, now: datetime) -> None:
        """Record an ok or not_modified poll on the feed."""
        self.store.record_feed_success(
            feed.name,
            status=result.status,
            http_status=result.http_status,
            etag=result.etag,
            last_modified=result.last_modified,
            permanent_url=result.permanent_url,
            entries=entries,
            now=now,
            next_poll=self._next_poll(feed, now, 0),
        )

    def _is_backlog(self, article: Article, state: FeedState, now: datetime) -> bool:
        """True when an entry is too old to alert: published before the backlog age, or undated on a first poll."""
        if article.published is None:
            return state.first_polled is None
        return article.published < now - self.policy.backlog

    def _enqueue(self, updates: Sequence[EventUpdate], now: datetime) -> int:
        """Save each changed event once (its latest state) and ask every sink for that revision."""
        latest = {u.event.id: u.event for u in updates}
        if not latest:
            return 0
        sinks = list(self.sinks())
        for event in latest.values():
            revision = self.store.save_event(event, now)
            for sink in sinks:
                self.store.enqueue_delivery(sink, event.id, revision=revision, reply_to=event.follows, now=now)
        return len(latest)
