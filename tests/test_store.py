"""The SQLite store on real database files: schema, feeds' health, articles, events, outbox."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.store import CycleRecord, Store
from bot.errors import StoreError
from bot.models import Feed, TopicMatch
from tests.builders import T0, article, event


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A store in a fresh database file."""
    s = Store.open(tmp_path / "data" / "ww.db")
    yield s
    s.close()


def test_open_creates_schema_in_wal_mode_and_private_file(tmp_path: Path) -> None:
    """A new database gets every table, WAL journaling and a file only its owner can read."""
    path = tmp_path / "sub" / "ww.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feeds", "articles", "events", "deliveries", "subscribers", "cycles"} <= names
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    """Migrations are recorded; opening again keeps the data."""
    path = tmp_path / "ww.db"
    s = Store.open(path)
    s.save_article(article(1), feed_name="Wire One", match=TopicMatch(False), now=T0, backlog=False)
    s.close()
    s = Store.open(path)
    assert s.article_count() == 1
    assert s.integrity_ok()


def _as_before_m002(path: Path) -> None:
    """Create a database at `path` as an older release left it: the m001 schema, m002 not applied."""
    Store.open(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("ALTER TABLE feeds DROP COLUMN retry_after_until")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_feed_retry_after'")
    conn.close()


def test_a_database_from_before_retry_after_is_upgraded_on_open(tmp_path: Path) -> None:
    """A database made before m002 (no retry_after_until column) gains the column on open, rows kept."""
    path = tmp_path / "ww.db"
    _as_before_m002(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO feeds (name, url) VALUES ('Wire One', 'https://wire.example/rss')")
    conn.close()
    store = Store.open(path)
    try:
        assert store.feed_state("Wire One").retry_after_until is None
        store.record_feed_failure(
            "Wire One", kind="http", message="HTTP 429", http_status=429, now=T0, next_poll=T0, retry_after_until=T0
        )
        assert store.feed_state("Wire One").retry_after_until == T0
    finally:
        store.close()


_OPEN_AT = """
import sys, time
from bot.adapters.store import Store
from bot.errors import StoreError
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))  # every process opens at the same moment
try:
    Store.open(sys.argv[1]).close()
except StoreError as exc:
    print(exc)
    sys.exit(1)
"""


def test_processes_upgrading_one_old_database_at_once_all_open_it(tmp_path: Path) -> None:
    """Several processes opening one pre-m002 database together all succeed; the column is added once."""
    paths = [tmp_path / f"old{n}.db" for n in range(3)]
    for path in paths:
        _as_before_m002(path)
    start = time.time() + 2.0  # after every interpreter has started
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, str(path), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for path in paths
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [out for p, out in zip(procs, outputs, strict=True) if p.returncode != 0] == []
    for path in paths:
        conn = sqlite3.connect(path)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(feeds)")]
        applied = conn.execute("SELECT count(*) FROM _sqlite_migrations WHERE name = 'm002_feed_retry_after'")
        assert columns.count("retry_after_until") == 1 and applied.fetchone()[0] == 1
        conn.close()


def test_feed_health_success_failure_and_recovery(store: Store) -> None:
    """Failures count up with the first failure time kept; a success resets them."""
    store.sync_feeds([Feed("Wire One", "https://wire.example/rss")])
    later = T0 + timedelta(minutes=15)
    store.record_feed_failure(
        "Wire One", kind="timeout", message="timed out", http_status=None, now=T0, next_poll=later
    )
    store.record_feed_failure(
        "Wire One",
        kind="http",
        message="HTTP 500",
        http_status=500,
        now=later,
        next_poll=later + timedelta(minutes=30),
    )
    [health] = store.feed_health()
    assert (health.consecutive_failures, health.last_error_kind, health.failing_since) == (2, "http", T0)
    store.record_feed_success(
        "Wire One",
        status="ok",
        http_status=200,
        etag='"v1"',
        last_modified=None,
        permanent_url="https://wire.example/new-rss",
        entries=3,
        now=later,
        next_poll=later + timedelta(minutes=15),
    )
    [health] = store.feed_health()
    assert health.consecutive_failures == 0 and health.failing_since is None
    state = store.feed_state("Wire One")
    assert state.poll_url == "https://wire.example/new-rss"
    assert state.etag == '"v1"' and state.first_polled == later


def test_changing_a_feed_url_forgets_its_validators(store: Store) -> None:
    """A feed whose configured URL changed must not send the old ETag to the new URL."""
    store.sync_feeds([Feed("Wire One", "https://wire.example/rss")])
    store.record_feed_success(
        "Wire One",
        status="ok",
        http_status=200,
        etag='"v1"',
        last_modified="x",
        permanent_url=None,
        entries=1,
        now=T0,
        next_poll=T0,
    )
    store.sync_feeds([Feed("Wire One", "https://wire.example/other")])
    state = store.feed_state("Wire One")
    assert (state.poll_url, state.etag, state.last_modified) == ("https://wire.example/other", None, None)


def test_feed_states_reads_every_named_feed_at_once(store: Store) -> None:
    """feed_states answers for several feeds in one call and names a feed sync_feeds never saw."""
    store.sync_feeds([Feed("Wire One", "https://wire.example/rss"), Feed("Wire Two", "https://two.example/rss")])
    states = store.feed_states(["Wire Two", "Wire One"])
    assert {name: s.poll_url for name, s in states.items()} == {
        "Wire One": "https://wire.example/rss",
        "Wire Two": "https://two.example/rss",
    }
    assert states["Wire One"] == store.feed_state("Wire One")
    with pytest.raises(StoreError, match="'Nowhere' is not in the database"):
        store.feed_states(["Wire One", "Nowhere"])


def test_article_stored_once_across_feeds(store: Store) -> None:
    """The same article reached through two feeds is one row linked to both feeds."""
    a = article(7)
    match = TopicMatch(True, ("Pyongyang",), "korea: Pyongyang")
    store.save_article(a, feed_name="Wire One", match=match, now=T0, backlog=False)
    store.save_article(a, feed_name="Wire Two", match=match, now=T0, backlog=False)
    assert store.article_count() == 1
    assert store.articles_of_feed("Wire Two") == ["a0007"]
    assert store.known_article_ids(["a0007", "zzz"]) == {"a0007"}
    assert store.known_guid("guid-7") == "a0007"
    assert store.article_match("a0007") == match


def test_assigned_articles_in_storage_order_across_events(store: Store) -> None:
    """Every article assigned to one of the asked events, with when it was first seen, in storage order."""
    match = TopicMatch(True, ("Pyongyang",), "korea: Pyongyang")
    for minutes, n in enumerate((3, 1, 2, 4)):
        store.save_article(
            article(n), feed_name="Wire One", match=match, now=T0 + timedelta(minutes=minutes), backlog=False
        )
    for n, event_id in ((3, "ev-b"), (1, "ev-a"), (2, "ev-b"), (4, "ev-c")):
        store.assign_article(article(n).id, event_id)
    found = store.assigned_articles(["ev-b", "ev-a", "ev-none"])
    assert [(eid, a.id, seen) for eid, a, seen in found] == [
        ("ev-b", "a0003", T0),
        ("ev-a", "a0001", T0 + timedelta(minutes=1)),
        ("ev-b", "a0002", T0 + timedelta(minutes=2)),
    ]
    assert found[1][1] == article(1)


def test_event_round_trip_and_revisions(store: Store) -> None:
    """An event comes back equal to what was saved; each save bumps its revision."""
    ev = event("ev-1", "Wire One", "Paper Two")
    assert store.save_event(ev, T0) == 1
    assert store.event("ev-1") == ev
    assert store.save_event(ev, T0) == 2
    store.save_event(event("ev-2", "Wire One", at=T0 + timedelta(hours=1)), T0)
    assert [e.id for e in store.latest_events(5)] == ["ev-2", "ev-1"]


def test_last_message_number_reads_only_all_digit_ids_of_one_sink(store: Store) -> None:
    """The console numbers alerts; after a restart it goes on from the highest number recorded for it."""
    assert store.last_message_number("console") == 0
    for eid, sink, mid in (
        ("ev-1", "console", "9"),
        ("ev-2", "console", "11"),
        ("ev-3", "console", "x12"),
        ("ev-4", "discord:0", "900"),
    ):
        store.save_event(event(eid, "Wire One"), T0)
        store.enqueue_delivery(sink, eid, revision=1, reply_to=None, now=T0)
        store.record_sent(sink, eid, message_id=mid, revision=1, now=T0)
    assert store.last_message_number("console") == 11


def test_outbox_post_then_edit_then_gone(store: Store) -> None:
    """A row waits until sent; a newer revision makes it due again; a gone row stays gone."""
    store.save_event(event("ev-1", "Wire One"), T0)
    store.enqueue_delivery("console", "ev-1", revision=1, reply_to=None, now=T0)
    [row] = store.due_deliveries(T0)
    assert (row.state, row.message_id, row.delivered_revision) == ("pending", None, 0)
    store.record_sent("console", "ev-1", message_id="11", revision=1, now=T0)
    assert store.due_deliveries(T0) == [] and store.outbox_depth() == 0
    store.enqueue_delivery("console", "ev-1", revision=2, reply_to=None, now=T0)
    [row] = store.due_deliveries(T0)
    assert (row.revision, row.message_id) == (2, "11")
    store.record_attempt_failed("console", "ev-1", error="deleted", next_attempt=T0, final="gone")
    store.enqueue_delivery("console", "ev-1", revision=3, reply_to=None, now=T0)
    assert store.delivery("console", "ev-1").state == "gone"


def test_subscribers_and_cycles(store: Store) -> None:
    """Subscribing twice is reported; the last cycle is remembered."""
    assert store.add_subscriber(42, T0) is True
    assert store.add_subscriber(42, T0) is False
    assert store.subscribers() == [42]
    assert store.remove_subscriber(42) is True and store.remove_subscriber(42) is False
    record = CycleRecord(T0, T0, feeds=3, errors=1, entries=10, new=4, matched=2, events=1)
    store.record_cycle(record)
    assert store.last_cycle() == record


def test_read_only_database_gives_store_error_and_keeps_data(tmp_path: Path) -> None:
    """Writing to a read-only database raises StoreError naming the file; stored rows survive."""
    path = tmp_path / "ww.db"
    s = Store.open(path)
    s.save_article(article(1), feed_name="Wire One", match=TopicMatch(False), now=T0, backlog=False)
    s.close()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    from sqlite_utils import Database  # the test may build its own read-only handle

    ro = Store(Database(conn), str(path))
    with pytest.raises(StoreError, match=r"ww\.db"):
        ro.save_article(article(2), feed_name="Wire One", match=TopicMatch(False), now=T0, backlog=False)
    assert Store.open(path).article_count() == 1


def test_naive_datetimes_are_refused(store: Store) -> None:
    """Every datetime crossing into the store must be timezone-aware."""
    with pytest.raises(ValueError, match="naive"):
        store.add_subscriber(1, T0.replace(tzinfo=None))
