"""A locked, read-only or full database gives a clear error, and nothing already stored is damaged.

A full disk is simulated with SQLite's `PRAGMA max_page_count` (the database cannot grow past its current
size, so the next write that needs a page fails with SQLITE_FULL, as on a full disk). A database that
refuses one write right after a platform accepted a post is simulated with SQLite's authorizer.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.adapters.fetch import Fetcher
from bot.adapters.store import Store
from bot.delivery import DeliveryPolicy, DeliveryWorker
from bot.errors import StoreError
from bot.models import Feed
from bot.pipeline import CycleReport
from tests.builders import T0, Clock, event
from tests.environ import clean_environ, write_config
from tests.fakes import FeedServer
from tests.faults.helpers import HEADLINES, SHORT_LIMITS, Item, pipeline, rss, story
from tests.sinks import RecordingSink


def poll_cli(config: Path, db: Path) -> subprocess.CompletedProcess[str]:
    """`wirewatch poll --once` as its own process."""
    env = clean_environ()
    env |= {"WIREWATCH_CONFIG_DIR": str(config), "WIREWATCH_DB": str(db), "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "poll", "--once"], env=env, capture_output=True, text=True, timeout=60
    )


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of the tables that hold news and delivery state, through a fresh connection."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608 - fixed names
            for table in ("articles", "article_feeds", "events", "event_reports", "deliveries")
        }
    finally:
        conn.close()


def refuse(store: Store, action_refused: int | None, table_refused: str = "") -> None:
    """Make the store's connection refuse one kind of statement on one table, as a failing disk would
    (SQLite's authorizer); None lets everything through again."""
    if action_refused is None:
        store._db.conn.set_authorizer(None)
        return

    def authorizer(action: int, table: str | None, *_: object) -> int:
        return sqlite3.SQLITE_DENY if (action, table) == (action_refused, table_refused) else sqlite3.SQLITE_OK

    store._db.conn.set_authorizer(authorizer)


async def cycle(store: Store, url: str, clock: Clock) -> CycleReport:
    """One cycle of the real pipeline over one feed."""
    async with Fetcher(SHORT_LIMITS) as fetcher:
        return await pipeline(store, fetcher, clock).run_cycle([Feed("Wire", url, 60)])


def test_a_locked_database_fails_the_poll_with_a_clear_error_and_keeps_the_data(tmp_path: Path) -> None:
    """While another connection holds the write lock, `poll --once` waits 5 s, then exits 1 saying "locked"."""
    clock = Clock()
    db = tmp_path / "ww.db"
    with FeedServer() as server:
        server.route("/feed.xml", rss([story(0, "Wire", clock.now - timedelta(minutes=5))]))
        config = write_config(tmp_path, {"Wire": server.url("/feed.xml")})
        assert poll_cli(config, db).returncode == 0
        before = snapshot(db)
        server.update("/feed.xml", body=rss([story(n, "Wire", clock.now - timedelta(minutes=5)) for n in range(3)]))
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
        try:
            started = time.monotonic()
            done = poll_cli(config, db)
            waited = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert done.returncode == 1, done.stderr
        assert "wirewatch: database error:" in done.stderr and "database is locked" in done.stderr
        assert "Traceback" not in done.stderr
        assert 4.5 < waited < 30  # busy_timeout (5 s) is honoured before giving up
        assert snapshot(db) == before
        assert poll_cli(config, db).returncode == 0  # the lock is gone: the next poll stores the news
    assert len(snapshot(db)["articles"]) == 3


def test_a_read_only_database_fails_the_cycle_and_keeps_the_data(tmp_path: Path) -> None:
    """A cycle on a read-only database raises StoreError ("readonly"); every stored row is unchanged."""
    clock = Clock()
    db = tmp_path / "ww.db"
    with FeedServer() as server:
        server.route("/feed.xml", rss([story(0, "Wire", clock.now - timedelta(minutes=5))]))
        store = Store.open(db)
        asyncio.run(cycle(store, server.url("/feed.xml"), clock))
        store.close()
        before = snapshot(db)
        server.update("/feed.xml", body=rss([story(n, "Wire", clock.now) for n in range(3)]))
        read_only = Store(Database(sqlite3.connect(f"file:{db}?mode=ro", uri=True)), str(db))
        with pytest.raises(StoreError, match=r"ww\.db: attempt to write a readonly database"):
            asyncio.run(cycle(read_only, server.url("/feed.xml"), clock))
        read_only.close()
    assert snapshot(db) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only file anyway")
def test_a_read_only_database_file_makes_the_cli_say_so(tmp_path: Path) -> None:
    """`poll --once` on a database file without write permission exits 1 with a "database error" line."""
    with FeedServer() as server:
        server.route("/feed.xml", rss([story(0, "Wire", Clock().now)]))
        config = write_config(tmp_path, {"Wire": server.url("/feed.xml")})
        db = tmp_path / "ww.db"
        assert poll_cli(config, db).returncode == 0
        db.chmod(0o400)
        server.update("/feed.xml", body=rss([story(n, "Wire", Clock().now) for n in range(3)]))
        done = poll_cli(config, db)
    assert done.returncode == 1 and "wirewatch: database error:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_full_disk_rolls_the_whole_cycle_back_and_the_next_cycle_recovers(tmp_path: Path) -> None:
    """SQLITE_FULL mid-cycle: StoreError ("full"), nothing of the cycle kept, old rows intact; then it recovers."""
    clock = Clock()
    db = tmp_path / "ww.db"
    with FeedServer() as server:
        server.route("/feed.xml", rss([story(0, "Wire", clock.now - timedelta(minutes=5))]), validators=True)
        store = Store.open(db)
        asyncio.run(cycle(store, server.url("/feed.xml"), clock))
        before = snapshot(db)
        filler = [Item(f"Weather note {i} " + "rain " * 60, link=f"https://wire.example/w/{i}") for i in range(2000)]
        server.update("/feed.xml", body=rss([story(n, "Wire", clock.now) for n in range(4)] + filler))
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is full
        clock.advance(120)
        with pytest.raises(StoreError, match="database or disk is full"):
            asyncio.run(cycle(store, server.url("/feed.xml"), clock))
        assert snapshot(db) == before  # the cycle was one transaction: all of it rolled back
        store._db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        clock.advance(120)
        report = asyncio.run(cycle(store, server.url("/feed.xml"), clock))
        store.close()
    assert (report.feeds[0].status, report.feeds[0].new) == ("ok", 2003)  # re-fetched: no validator was kept
    after = snapshot(db)
    assert len(after["articles"]) == 2004 and len(after["events"]) == 4


@pytest.mark.parametrize("rebuild_fails_once", [False, True])
def test_stories_of_a_rolled_back_cycle_are_alerted_by_the_same_pipeline(
    tmp_path: Path, rebuild_fails_once: bool
) -> None:
    """The last write of a cycle fails after the long-lived tracker took the cycle's articles; the next cycle
    rebuilds the tracker from the store (retrying while the rebuild itself fails), takes the stories again,
    groups them with what the store held and alerts them.

    Without the rebuild the next cycle fetches the stories again, the tracker calls them duplicates, and
    their events are never saved or queued: the alerts are lost.
    """
    clock = Clock()
    store = Store.open(tmp_path / "ww.db")

    async def run() -> None:
        async with Fetcher(SHORT_LIMITS) as fetcher:
            poller = pipeline(store, fetcher, clock)
            feeds = [Feed("Wire", server.url("/wire.xml"), 60), Feed("Paper", server.url("/paper.xml"), 60)]
            await poller.run_cycle(feeds)
            server.update("/wire.xml", body=rss([story(0, "Wire", clock.now), story(1, "Wire", clock.now)]))
            server.update("/paper.xml", body=rss([story(0, "Paper", clock.now)]))
            clock.advance(120)
            refuse(store, sqlite3.SQLITE_INSERT, "cycles")  # the cycle's last write fails
            with pytest.raises(StoreError):
                await poller.run_cycle(feeds)
            if rebuild_fails_once:
                refuse(store, sqlite3.SQLITE_READ, "articles")  # so does the rebuild's first read
                clock.advance(120)
                with pytest.raises(StoreError):
                    await poller.run_cycle(feeds)
            refuse(store, None)
            clock.advance(120)
            await poller.run_cycle(feeds)

    with FeedServer() as server:
        server.route("/wire.xml", rss([story(0, "Wire", clock.now - timedelta(minutes=5))]), validators=True)
        server.route("/paper.xml", rss([]), validators=True)
        asyncio.run(run())
    try:
        events = {e.headline: e for e in store.latest_events(10)}
        assert set(events) == {HEADLINES[0], HEADLINES[1]}
        assert events[HEADLINES[0]].outlets == ("Wire", "Paper")  # the Paper's report joined the stored event
        assert all(len(set(e.article_ids)) == len(e.article_ids) for e in events.values())
        assert len(store.deliveries("rec")) == 2
    finally:
        store.close()


def test_a_cycle_failing_before_grouping_leaves_the_tracker_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Storing the articles fails before the tracker sees them: nothing to rebuild, the next cycle alerts."""
    clock = Clock()
    store = Store.open(tmp_path / "ww.db")

    async def run() -> None:
        async with Fetcher(SHORT_LIMITS) as fetcher:
            poller = pipeline(store, fetcher, clock)
            feed = Feed("Wire", server.url("/wire.xml"), 60)
            refuse(store, sqlite3.SQLITE_INSERT, "articles")
            with pytest.raises(StoreError):
                await poller.run_cycle([feed])
            refuse(store, None)
            clock.advance(120)
            await poller.run_cycle([feed])

    with FeedServer() as server:
        server.route("/wire.xml", rss([story(0, "Wire", clock.now)]), validators=True)
        with caplog.at_level("INFO", logger="bot.pipeline"):
            asyncio.run(run())
    try:
        assert [e.headline for e in store.latest_events(10)] == [HEADLINES[0]]
        assert "rebuilt" not in caplog.text
    finally:
        store.close()


async def test_a_refused_write_after_a_post_does_not_post_again(tmp_path: Path) -> None:
    """The platform accepted a post but recording its id failed: later passes record that id, never re-post."""
    store = Store.open(tmp_path / "ww.db")
    clock = Clock(T0)
    sink = RecordingSink()
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock, policy=DeliveryPolicy())
    revision = store.save_event(event("ev-1", "Wire"), clock.now)
    store.enqueue_delivery("rec", "ev-1", revision=revision, reply_to=None, now=clock.now)

    refuse(store, sqlite3.SQLITE_UPDATE, "deliveries")  # the disk fills up right after the platform said yes
    for _ in range(5):
        with pytest.raises(StoreError):
            await worker.drain_once()
        clock.advance(60)
    refuse(store, None)
    await worker.drain_once()
    assert sink.posts == [("m1", "ev-1", None)]
    row = store.delivery("rec", "ev-1")
    assert row is not None and (row.state, row.message_id) == ("sent", "m1")
