"""One poll cycle in-process: the real Fetcher, Store, topic rules and event tracker, a hand-driven clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.adapters.fetch import Fetcher, FetchLimits
from bot.adapters.store import Store
from bot.core.events import EventTracker
from bot.models import Feed
from bot.pipeline import Pipeline, PollPolicy
from bot.settings import load_topics
from tests.builders import Clock
from tests.fakes import FeedServer

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def rss(*items: tuple[str, str, str, datetime | None]) -> str:
    """An RSS document of (title, link, description, date) items."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "</item>"
        for t, link, d, when in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


STORY = (
    "Xi Jinping receives Kim Jong Un in Beijing",
    "https://wire.example/xi-kim?utm_source=rss",
    "China's president Xi Jinping welcomed North Korean leader Kim Jong Un to Beijing on Monday for talks.",
    NOW - timedelta(hours=2),
)
OFF_TOPIC = ("Rice prices steady in Bangkok", "https://wire.example/rice", "Thai rice was unchanged.", NOW)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Pipeline, Store, Clock]]:
    """A pipeline on a fresh database with short fetch limits and no jitter."""
    store = Store.open(tmp_path / "ww.db")
    clock = Clock(NOW)
    limits = FetchLimits(connect_timeout_s=2, read_timeout_s=2, total_timeout_s=3)
    async with Fetcher(limits) as fetcher:
        pipeline = Pipeline(
            store=store,
            fetcher=fetcher,
            rules=load_topics(REPO / "config" / "topics.toml"),
            tracker=EventTracker(),
            sinks=lambda: ["console"],
            clock=clock,
            policy=PollPolicy(jitter=0.0),
            rng=random.Random(1),
        )
        yield pipeline, store, clock
    store.close()


async def test_matching_article_becomes_an_event_and_an_outbox_row(parts) -> None:
    """A matching item is stored, grouped into an event and queued; an off-topic one is only stored."""
    pipeline, store, _ = parts
    with FeedServer() as server:
        server.route("/a.xml", body=rss(STORY, OFF_TOPIC))
        report = await pipeline.run_cycle([Feed("Wire", server.url("/a.xml"))])
    assert (report.entries, report.new, report.matched, report.events) == (2, 2, 1, 1)
    [event] = store.latest_events(5)
    assert event.reports[0].url == "https://wire.example/xi-kim"  # tracking parameter gone
    assert [d.event_id for d in store.deliveries("console")] == [event.id]


async def test_same_article_through_two_feeds_is_stored_once(parts) -> None:
    """The same link in two feeds is one article, linked to both feeds, and one event."""
    pipeline, store, _ = parts
    with FeedServer() as server:
        server.route("/a.xml", body=rss(STORY))
        server.route("/b.xml", body=rss(STORY))
        report = await pipeline.run_cycle([Feed("A", server.url("/a.xml")), Feed("B", server.url("/b.xml"))])
    assert report.new == 1 and store.article_count() == 1 and store.event_count() == 1
    assert store.articles_of_feed("A") == store.articles_of_feed("B")


async def test_two_outlets_reporting_in_one_cycle_make_one_ranked_event_saved_once(parts) -> None:
    """Two outlets' reports in one cycle: one event with both, saved and queued once, as the tracker ranked it."""
    pipeline, store, _ = parts
    other = (
        "Kim Jong Un meets Xi Jinping in Beijing for talks",
        "https://paper.example/kim-xi",
        "North Korean leader Kim Jong Un met China's president Xi Jinping in Beijing on Monday for talks.",
        NOW - timedelta(hours=1),
    )
    with FeedServer() as server:
        server.route("/a.xml", body=rss(STORY))
        server.route("/b.xml", body=rss(other))
        report = await pipeline.run_cycle([Feed("Wire", server.url("/a.xml")), Feed("Paper", server.url("/b.xml"))])
    assert (report.new, report.matched, report.events) == (2, 2, 1)
    [event] = store.latest_events(5)
    assert event.outlets == ("Wire", "Paper")
    assert event == pipeline.tracker.get(event.id)
    assert event.headline in (STORY[0], other[0]) and "Kim Jong Un" in event.summary
    assert [(d.event_id, d.revision) for d in store.deliveries("console")] == [(event.id, 1)]


async def test_backlog_entries_are_stored_but_not_alerted(parts) -> None:
    """An entry older than the backlog age is kept in the store and never reaches the outbox."""
    pipeline, store, _ = parts
    old = (*STORY[:3], NOW - timedelta(days=3))
    with FeedServer() as server:
        server.route("/a.xml", body=rss(old))
        report = await pipeline.run_cycle([Feed("Wire", server.url("/a.xml"))])
    assert (report.new, report.matched, report.events) == (1, 1, 0)
    assert store.outbox_depth() == 0


async def test_unchanged_feed_costs_a_304_and_no_new_rows(parts) -> None:
    """The second poll sends the validators, gets 304 and stores nothing new."""
    pipeline, store, clock = parts
    with FeedServer() as server:
        server.route("/a.xml", body=rss(STORY), validators=True)
        feed = Feed("Wire", server.url("/a.xml"))
        await pipeline.run_cycle([feed])
        clock.now += timedelta(minutes=20)
        report = await pipeline.run_cycle([feed])
        assert "if-none-match" in server.requests[-1].headers
    assert report.feeds[0].status == "not_modified" and report.new == 0
    assert store.article_count() == 1


async def test_failing_feed_backs_off_exponentially_then_recovers(parts) -> None:
    """Each failure doubles the wait (capped); a success resets the count and the normal interval."""
    pipeline, store, clock = parts
    waits = []
    with FeedServer() as server:
        server.route("/a.xml", body="down", status=503)
        feed = Feed("Wire", server.url("/a.xml"), interval_s=60)
        for _ in range(10):
            await pipeline.run_cycle([feed])
            state = store.feed_state("Wire")
            waits.append((state.next_poll - clock.now).total_seconds())
            clock.now = state.next_poll
        assert waits[:4] == [120, 240, 480, 960]
        assert max(waits) == PollPolicy().backoff_cap_s
        [health] = store.feed_health()
        assert health.consecutive_failures == 10 and health.last_error_kind == "http"
        server.update("/a.xml", body=rss(STORY), status=200)
        await pipeline.run_cycle([feed])
    [health] = store.feed_health()
    assert health.consecutive_failures == 0 and health.failing_since is None
    assert (store.feed_state("Wire").next_poll - clock.now).total_seconds() == 60


async def test_retry_after_holds_the_feed_back_until_then(parts, caplog: pytest.LogCaptureFixture) -> None:
    """A 429 with Retry-After: 3600 on a 60 s feed: the schedule does not fetch it for an hour (though its
    backoff alone would allow it after two minutes), the log says until when, and a success clears it."""
    pipeline, store, clock = parts
    with FeedServer() as server:
        server.route("/a.xml", body="slow down", status=429, headers={"Retry-After": "3600"})
        feed = Feed("Wire", server.url("/a.xml"), interval_s=60)
        await pipeline.run_cycle([feed])
        assert "Retry-After: not polled again before 02 Mar 2026 13:00 UTC" in caplog.text
        assert store.feed_state("Wire").retry_after_until == NOW + timedelta(hours=1)
        for minutes in (2, 30, 59):
            clock.now = NOW + timedelta(minutes=minutes)
            due = pipeline.due_feeds([feed], clock.now)
            if due:
                await pipeline.run_cycle(due)
        assert server.hits("/a.xml") == 1, "fetched again before the server's Retry-After"

        server.update("/a.xml", body=rss(STORY), status=200)
        clock.now = NOW + timedelta(hours=1)
        assert pipeline.due_feeds([feed], clock.now) == [feed]
        report = await pipeline.run_cycle([feed])
    assert report.feeds[0].status == "ok" and server.hits("/a.xml") == 2
    assert store.feed_state("Wire").retry_after_until is None
    [health] = store.feed_health()
    assert health.consecutive_failures == 0 and health.retry_after_until is None


async def test_retry_after_is_capped_at_a_day(parts) -> None:
    """A Retry-After of ten days is obeyed for one day only, the policy's cap."""
    pipeline, store, _ = parts
    with FeedServer() as server:
        server.route("/a.xml", body="down", status=503, headers={"Retry-After": str(10 * 86400)})
        await pipeline.run_cycle([Feed("Wire", server.url("/a.xml"))])
    state = store.feed_state("Wire")
    assert state.retry_after_until == NOW + timedelta(seconds=PollPolicy().retry_after_cap_s) == state.next_poll
    assert PollPolicy().retry_after_cap_s == 86400


async def test_an_explicit_cycle_skips_a_feed_still_in_its_retry_after(parts) -> None:
    """`poll --once` polls every feed, but not one whose server asked to wait: it is reported as not polled,
    is not fetched, and does not count as another failure; the other feeds are polled as usual."""
    pipeline, store, clock = parts
    with FeedServer() as server:
        server.route("/a.xml", body="slow down", status=429, headers={"Retry-After": "600"})
        server.route("/b.xml", body=rss(STORY))
        feeds = [Feed("Wire", server.url("/a.xml")), Feed("Paper", server.url("/b.xml"))]
        await pipeline.run_cycle(feeds)
        clock.now += timedelta(minutes=5)
        report = await pipeline.run_cycle(feeds)
        assert server.hits("/a.xml") == 1 and server.hits("/b.xml") == 2
    held = report.as_json()["feeds"][0]
    assert (held["status"], held["http_status"]) == ("error", None)
    assert held["error"] == "not polled: the server asked (Retry-After) to wait until 02 Mar 2026 12:10 UTC"
    assert report.feeds[1].status == "ok"
    assert store.feed_state("Wire").consecutive_failures == 1


async def test_permanent_redirect_is_remembered(parts) -> None:
    """After a 301 the feed is polled at its new address directly."""
    pipeline, store, _ = parts
    with FeedServer() as server:
        server.route("/new.xml", body=rss(STORY))
        server.redirect("/old.xml", "/new.xml", status=301)
        feed = Feed("Wire", server.url("/old.xml"))
        await pipeline.run_cycle([feed])
        assert store.feed_state("Wire").poll_url == server.url("/new.xml")
        await pipeline.run_cycle([feed])
        assert server.hits("/old.xml") == 1 and server.hits("/new.xml") == 2


async def test_restart_rebuilds_the_event_index(parts, tmp_path: Path) -> None:
    """A new tracker restored from the store puts a later report of the same story into the same event."""
    pipeline, store, clock = parts
    copy = ("Kim Jong-un meets Xi Jinping in Beijing", "https://paper.example/kim-xi", STORY[2], NOW)
    with FeedServer() as server:
        server.route("/a.xml", body=rss(STORY))
        await pipeline.run_cycle([Feed("Wire", server.url("/a.xml"))])
        pipeline.tracker = EventTracker()
        assert pipeline.restore() == 1
        server.route("/b.xml", body=rss(copy))
        clock.now += timedelta(minutes=5)
        report = await pipeline.run_cycle([Feed("Paper", server.url("/b.xml"))])
    assert report.events == 1 and store.event_count() == 1
    assert store.latest_events(1)[0].outlets == ("Wire", "Paper")


async def test_a_feed_moved_to_another_url_is_not_held_by_the_old_servers_retry_after(parts) -> None:
    """Retry-After is the old server's request: when feeds.toml points the feed elsewhere, the new URL is
    polled at once, by the schedule and by an explicit cycle alike."""
    pipeline, store, clock = parts
    with FeedServer() as server:
        server.route("/old.xml", body="slow down", status=429, headers={"Retry-After": "3600"})
        server.route("/new.xml", body=rss(STORY))
        await pipeline.run_cycle([Feed("Wire", server.url("/old.xml"))])
        assert store.feed_state("Wire").retry_after_until == NOW + timedelta(hours=1)

        clock.now = NOW + timedelta(minutes=1)
        moved = Feed("Wire", server.url("/new.xml"))
        store.sync_feeds([moved])
        assert pipeline.due_feeds([moved], clock.now) == [moved]
        report = await pipeline.run_cycle([moved])
        assert server.hits("/new.xml") == 1
    assert report.feeds[0].status == "ok"
    assert store.feed_state("Wire").retry_after_until is None


async def test_a_renamed_feed_stays_held_by_its_servers_retry_after(parts) -> None:
    """Retry-After is about the address: a new name for the same URL is not polled before the server asked,
    by the schedule or by an explicit cycle."""
    pipeline, store, clock = parts
    with FeedServer() as server:
        server.route("/a.xml", body="slow down", status=429, headers={"Retry-After": "3600"})
        await pipeline.run_cycle([Feed("Wire", server.url("/a.xml"))])

        clock.now = NOW + timedelta(minutes=1)
        renamed = Feed("Wire News", server.url("/a.xml"))
        store.sync_feeds([renamed])
        assert store.feed_state("Wire News").retry_after_until == NOW + timedelta(hours=1)
        assert pipeline.due_feeds([renamed], clock.now) == []
        report = await pipeline.run_cycle([renamed])
        assert server.hits("/a.xml") == 1
        assert report.feeds[0].error_kind == "retry_after"

        server.update("/a.xml", body=rss(STORY), status=200)
        clock.now = NOW + timedelta(hours=1, seconds=1)
        assert pipeline.due_feeds([renamed], clock.now) == [renamed]
        await pipeline.run_cycle([renamed])
        assert server.hits("/a.xml") == 2
    assert store.feed_state("Wire News").retry_after_until is None
    assert store.feed_state("Wire").retry_after_until == NOW + timedelta(hours=1)  # the old row, left alone
