"""The outbox worker against a real SQLite store and recording sinks, with a hand-driven clock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.adapters.store import Store
from bot.delivery import DeliveryWorker
from bot.errors import MessageGone, RetryLater, SinkFatal, StoreError
from tests.builders import T0, Clock, event
from tests.sinks import RecordingSink


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A store in a fresh database file."""
    return Store.open(tmp_path / "ww.db")


def queue(store: Store, ev, sinks, now) -> None:
    """Save an event and ask every sink for its current revision, as the pipeline does."""
    revision = store.save_event(ev, now)
    for name in sinks:
        store.enqueue_delivery(name, ev.id, revision=revision, reply_to=ev.follows, now=now)


async def test_posts_once_then_coalesces_edits(store: Store) -> None:
    """One post per event; three quick changes become one edit a minute later, showing the last state."""
    clock = Clock(T0)
    sink = RecordingSink()
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    await worker.drain_once()
    await worker.drain_once()
    assert sink.posts == [("m1", "ev-1", None)]
    for outlets in (("Wire", "Paper"), ("Wire", "Paper", "Radio"), ("Wire", "Paper", "Radio", "TV")):
        clock.advance(5)
        queue(store, event("ev-1", *outlets), ["rec"], clock.now)
        await worker.drain_once()
    assert sink.edits == []
    clock.advance(60)
    await worker.drain_once()
    assert sink.edits == [("m1", "ev-1", 4)]
    assert store.delivery("rec", "ev-1").delivered_revision == 4


async def test_follow_up_replies_to_parent_message(store: Store) -> None:
    """A follow-up is posted as a reply to its parent's message on the same sink."""
    clock = Clock(T0)
    sink = RecordingSink()
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    queue(store, event("ev-2", "Paper", follows="ev-1"), ["rec"], clock.now)
    await worker.drain_once()
    assert sink.posts == [("m1", "ev-1", None), ("m2", "ev-2", "m1")]


async def test_retry_after_is_honoured_and_nothing_is_lost(store: Store) -> None:
    """A 429 leaves the row in the outbox until retry_after has passed; then it goes out once."""
    clock = Clock(T0)
    sink = RecordingSink(failures=[RetryLater("flood", retry_after=30)])
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    await worker.drain_once()
    clock.advance(29)
    await worker.drain_once()
    assert sink.posts == [] and store.outbox_depth() == 1
    clock.advance(2)
    await worker.drain_once()
    await worker.drain_once()
    assert sink.posts == [("m1", "ev-1", None)] and store.outbox_depth() == 0


async def test_deleted_message_is_not_fought_over(store: Store) -> None:
    """When an admin deleted the alert, the edit is dropped and nothing is re-posted."""
    clock = Clock(T0)
    sink = RecordingSink()
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    await worker.drain_once()
    sink.failures.append(MessageGone("message to edit not found"))
    clock.advance(120)
    queue(store, event("ev-1", "Wire", "Paper"), ["rec"], clock.now)
    await worker.drain_once()
    clock.advance(120)
    queue(store, event("ev-1", "Wire", "Paper", "TV"), ["rec"], clock.now)
    await worker.drain_once()
    assert len(sink.posts) == 1 and sink.edits == []
    assert store.delivery("rec", "ev-1").state == "gone"


async def test_one_failing_sink_does_not_hold_up_another(store: Store) -> None:
    """A sink that refuses everything keeps its rows; the other sink delivers at once."""
    clock = Clock(T0)
    broken = RecordingSink(name="broken", failures=[SinkFatal("bot was removed")] * 3)
    good = RecordingSink(name="good")
    worker = DeliveryWorker(store=store, resolve={"broken": broken, "good": good}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["broken", "good"], clock.now)
    queue(store, event("ev-2", "Paper"), ["broken", "good"], clock.now)
    await worker.drain_once()
    assert [p[1] for p in good.posts] == ["ev-1", "ev-2"]
    assert broken.posts == [] and store.outbox_depth() == 2
    broken.failures.clear()
    clock.advance(3600)
    await worker.drain_once()
    assert [p[1] for p in broken.posts] == ["ev-1", "ev-2"]


async def test_a_sink_raising_outside_its_contract_keeps_the_row_and_says_so(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception from a sink is logged by type, backed off, and the alert still goes out."""
    clock = Clock(T0)
    sink = RecordingSink(failures=[ValueError("Port out of range 0-65535 in https://hooks.example:99999/x/SECRET")])
    worker = DeliveryWorker(store=store, resolve={"rec": sink}.get, clock=clock)
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    stats = await worker.drain_once()
    assert stats.failed == 1 and sink.posts == [] and store.outbox_depth() == 1
    row = store.delivery("rec", "ev-1")
    assert row.attempts == 1 and row.next_attempt > clock.now  # backed off, not due again at once
    assert "ValueError" in caplog.text and "SECRET" not in caplog.text
    clock.advance(3600)
    await worker.drain_once()
    assert sink.posts == [("m1", "ev-1", None)] and store.outbox_depth() == 0


async def test_a_database_failure_is_not_blamed_on_the_sink(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """When recording the post fails on the database, StoreError reaches the caller; no sink error is logged."""
    path = tmp_path / "ww.db"
    writable = Store.open(path)
    queue(writable, event("ev-1", "Wire"), ["rec"], T0)
    writable.close()
    read_only = Store(Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True)), str(path))
    sink = RecordingSink()
    worker = DeliveryWorker(store=read_only, resolve={"rec": sink}.get, clock=Clock(T0))
    with pytest.raises(StoreError):
        await worker.drain_once()
    read_only.close()
    assert sink.posts == [("m1", "ev-1", None)]  # accepted by the platform, kept for the next pass to record
    assert "StoreError" not in caplog.text


async def test_restart_resumes_from_the_outbox_without_reposting(tmp_path: Path) -> None:
    """A new worker on the same database file sends what is pending and never re-posts what was sent."""
    path = tmp_path / "ww.db"
    clock = Clock(T0)
    store = Store.open(path)
    first = RecordingSink()
    queue(store, event("ev-1", "Wire"), ["rec"], clock.now)
    await DeliveryWorker(store=store, resolve={"rec": first}.get, clock=clock).drain_once()
    queue(store, event("ev-2", "Paper"), ["rec"], clock.now)
    store.close()
    store = Store.open(path)
    second = RecordingSink()
    await DeliveryWorker(store=store, resolve={"rec": second}.get, clock=clock).drain_once()
    assert [p[1] for p in first.posts] == ["ev-1"]
    assert [p[1] for p in second.posts] == ["ev-2"]
