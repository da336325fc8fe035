"""EventTracker: events with reports in arrival order, headlines, summaries, follows and restore."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.events import EventTracker
from bot.models import Article
from tests.test_cluster import (
    FOLLOW_UP,
    FOLLOW_UP_TITLE,
    OTHER_OUTLET,
    OTHER_OUTLET_TITLE,
    REPRINT,
    REPRINT_TITLE,
    RESERVED_TAIL,
    T0,
    UNRELATED,
    UNRELATED_TITLE,
    WIRE,
    art,
)


def test_events_grow_in_arrival_order_with_headline_summary_and_terms() -> None:
    """New → grown → unchanged; outlets in order; terms merged; a headline once a title arrives."""
    tr = EventTracker()
    u1 = tr.add(art("wire", "", WIRE, T0, outlet="Meridian"), ("Velmora",), T0)
    assert u1.change == "new" and u1.assignment.kind == "new_event"
    assert u1.event.headline  # a lead sentence stands in when there is no title
    assert u1.event.summary and "Velmora s" not in u1.event.summary
    t1 = T0 + timedelta(hours=1)
    u2 = tr.add(art("paper", REPRINT_TITLE, REPRINT, t1, outlet="Paper"), ("harbour", "Velmora"), t1)
    t2 = T0 + timedelta(hours=2)
    u3 = tr.add(art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t2, outlet="Other"), ("tanker",), t2)
    u4 = tr.add(art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t2, outlet="Other"), ("tanker",), t2)
    assert (u2.change, u2.assignment.kind) == ("grown", "reprint")
    assert (u3.change, u3.assignment.kind) == ("grown", "same_event")
    assert (u4.change, u4.assignment.kind) == ("unchanged", "duplicate")
    ev = u3.event
    assert ev.id == u1.event.id
    assert ev.article_ids == ("wire", "paper", "other")
    assert ev.outlets == ("Meridian", "Paper", "Other")
    assert ev.matched_terms == ("Velmora", "harbour", "tanker")
    assert ev.headline in (REPRINT_TITLE, OTHER_OUTLET_TITLE)
    assert "Velmora’s" in ev.summary or "Velmora s" not in ev.summary
    assert ev.first_seen == T0 and ev.updated == t2
    assert "READ MORE" not in ev.summary and "PUBLISHED" not in ev.summary


def test_follow_up_and_unrelated_events() -> None:
    """The reopening twelve days on follows the fire; the cup final is its own event."""
    tr = EventTracker()
    fire = tr.add(art("wire", "", WIRE, T0), (), T0).event
    sport = tr.add(art("sport", UNRELATED_TITLE, UNRELATED, T0), (), T0).event
    t1 = T0 + timedelta(days=12)
    reopen = tr.add(art("reopen", FOLLOW_UP_TITLE, FOLLOW_UP, t1), (), t1).event
    assert len({fire.id, sport.id, reopen.id}) == 3
    assert reopen.follows == fire.id and sport.follows is None
    assert [e.id for e in tr.events()] == [fire.id, sport.id, reopen.id]


def test_restore_then_continue_matches_an_uninterrupted_run() -> None:
    """Rebuilding from stored events after a 'restart' gives the same assignments as never stopping."""
    a_wire = art("wire", "", WIRE, T0)
    a_paper = art("paper", REPRINT_TITLE, REPRINT, T0 + timedelta(hours=1))
    a_other = art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, T0 + timedelta(hours=2))
    whole = EventTracker()
    for a in (a_wire, a_paper, a_other):
        assert a.published is not None
        last = whole.add(a, (), a.published)

    first = EventTracker()
    assert a_wire.published is not None and a_paper.published is not None
    first.add(a_wire, (), a_wire.published)
    stored = first.add(a_paper, (), a_paper.published).event
    restarted = EventTracker()
    restarted.restore_events([stored], [(stored.id, a, a_paper.published) for a in (a_wire, a_paper)])
    assert restarted.get(stored.id) == stored
    assert a_other.published is not None
    resumed = restarted.add(a_other, (), a_other.published)
    assert resumed.event.id == last.event.id
    assert resumed.event.article_ids == last.event.article_ids
    assert resumed.assignment.kind == last.assignment.kind


def test_evict_forgets_old_events() -> None:
    """After the retention window an event is gone from the tracker and the index."""
    tr = EventTracker()
    ev = tr.add(art("wire", "", WIRE, T0), (), T0).event
    later = T0 + tr.params.retention + timedelta(days=1)
    assert tr.evict(later) == [ev.id]
    assert tr.get(ev.id) is None and len(tr) == 0


def test_bad_articles_make_sane_events() -> None:
    """Empty, title-only, undated, future-dated and huge articles each give a consistent event."""
    tr = EventTracker()
    huge = "Velmora harbour update. " * 50_000
    for a in (
        art("empty", "", "", T0),
        art("title", "Port Alder harbour closed", "", None),
        art("future", "", OTHER_OUTLET, T0 + timedelta(days=900)),
        art("huge", "", huge, T0),
        art("ko", "항구 화재", "벨모라 교통부는 일요일 항구를 폐쇄했다.", T0),
    ):
        u = tr.add(a, (), T0)
        assert a.id in u.event.article_ids
        assert len(u.event.summary) <= tr.params.summary_max_chars + 1
        assert len(u.event.headline) <= tr.params.headline_max_chars
    assert tr.get(tr.index.event_of("title") or "")


def test_add_many_ranks_once_and_ends_where_one_by_one_ends() -> None:
    """A batch gives the updates one-by-one adds give, each carrying its event as the batch leaves it."""
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    arrivals = [
        (art("wire", "", WIRE, T0, outlet="Meridian"), ("Velmora",), T0),
        (art("sport", UNRELATED_TITLE, UNRELATED, T0), (), T0),
        (art("paper", REPRINT_TITLE, REPRINT, t1, outlet="Paper"), ("harbour",), t1),
        (art("paper", REPRINT_TITLE, REPRINT, t1, outlet="Paper"), ("harbour",), t1),
        (art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t2, outlet="Other"), ("tanker",), t2),
        # The paper re-serves its article under a new id with a line added: a reprint it already reported,
        # which leaves the event unchanged though the index counts its words into the centroid.
        (art("paper-again", REPRINT_TITLE, REPRINT + RESERVED_TAIL, t2, outlet="Paper"), (), t2),
    ]
    one_by_one = EventTracker()
    singles = [one_by_one.add(*arrival) for arrival in arrivals]
    batched = EventTracker()
    updates = batched.add_many(arrivals)
    assert [(u.assignment, u.change) for u in updates] == [(u.assignment, u.change) for u in singles]
    assert [u.change for u in updates] == ["new", "new", "grown", "unchanged", "grown", "unchanged"]
    assert updates[-1].assignment.kind == "reprint"
    fire = one_by_one.get(singles[0].event.id)
    assert fire is not None and fire.headline and fire.summary
    # Every update of the fire carries the final state, not the one at its own step.
    assert {updates[i].event for i in (0, 2, 3, 4, 5)} == {fire}
    assert batched.events() == one_by_one.events()
    assert batched.add_many([]) == []


def test_an_event_evicted_within_a_batch_is_ranked_as_it_was_left() -> None:
    """The index may forget an event before the batch ends; its update is what one-by-one adds give."""
    reports = [
        (art("wire", "", WIRE, T0, outlet="Meridian"), (), T0),
        (art("paper", REPRINT_TITLE, REPRINT, T0 + timedelta(hours=1), outlet="Paper"), (), T0 + timedelta(hours=1)),
        (art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, T0 + timedelta(hours=2), outlet="Other"), (), T0),
    ]
    one_by_one = EventTracker()
    fire = [one_by_one.add(*report) for report in reports][-1].event
    tr = EventTracker()
    later = T0 + tr.params.retention + timedelta(days=1)
    *_, first, second = tr.add_many([*reports, (art("sport", UNRELATED_TITLE, UNRELATED, later), (), later)])
    assert tr.get(first.event.id) is None and tr.get(second.event.id) is not None
    assert first.event == fire and len(fire.reports) == 3 and fire.headline and fire.summary


def test_an_item_that_raises_leaves_the_batch_before_it_ranked() -> None:
    """A malformed item (here a text that is not a string) stops the batch, but not half-way through an event."""
    tr = EventTracker()
    broken = Article("broken", "Paper", "https://paper.example/x", "Title", None, T0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tr.add_many([(art("wire", OTHER_OUTLET_TITLE, WIRE, T0), (), T0), (broken, (), T0)])
    [fire] = tr.events()
    assert fire.article_ids == ("wire",) and fire.headline == OTHER_OUTLET_TITLE and fire.summary


def test_a_report_that_fails_to_record_leaves_no_empty_event() -> None:
    """Matched terms that are not strings fail the report after the index placed it: no event without reports."""
    tr = EventTracker()
    tr.add(art("sport", UNRELATED_TITLE, UNRELATED, T0), (), T0)
    with pytest.raises(TypeError):
        tr.add(art("wire", OTHER_OUTLET_TITLE, WIRE, T0), (["harbour"],), T0)  # type: ignore[list-item]
    assert [e.article_ids for e in tr.events()] == [("sport",)]
    later = tr.add(art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, T0), (), T0)
    assert later.change == "new" and later.event.article_ids == ("other",) and later.event.headline


def test_restore_counts_a_reserved_reprint_as_the_uninterrupted_run_did() -> None:
    """A reprint its outlet re-served moved the index's centroid; restored with the event's articles, it does again."""
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    wire = art("wire", "", WIRE, T0, outlet="Meridian")
    paper = art("paper", REPRINT_TITLE, REPRINT, t1, outlet="Paper")
    # The re-served copy also opens with a sentence of the event's words: no report, so never summary material.
    added = (
        "Dock workers at Port Alder said tanker Grey Heron fire crews and Castemoor shipments faced a week of delays."
    )
    again = art("paper-again", REPRINT_TITLE, f"{added}\n{REPRINT}{RESERVED_TAIL}", t1, outlet="Paper")
    other = art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t2, outlet="Other")
    whole = EventTracker()
    for a in (wire, paper, again):
        whole.add(a, (), t1)
    stored = whole.events()[0]
    assert stored.article_ids == ("wire", "paper")  # the re-served copy is no report
    last = whole.add(other, (), t2)
    assert added not in last.event.summary

    restarted = EventTracker()
    restarted.restore_events([stored], [(stored.id, a, t1) for a in (wire, paper, again)])
    resumed = restarted.add(other, (), t2)
    assert resumed == last


def test_restore_events_weighs_articles_in_arrival_order_across_events() -> None:
    """Two events reported in turns: restored in the order of arrival, every centroid is what it was."""
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    arrivals = [
        ("wire", art("wire", "", WIRE, T0, outlet="Meridian"), T0),
        ("sport", art("sport", UNRELATED_TITLE, UNRELATED, t1), t1),
        ("other", art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t2, outlet="Other"), t2),
    ]
    whole = EventTracker()
    events = {name: whole.add(a, (), clock).event.id for name, a, clock in arrivals}
    stored = whole.events()
    assert events["wire"] == events["other"] != events["sport"]
    restarted = EventTracker()
    restarted.restore_events(stored, [(events[name], a, clock) for name, a, clock in arrivals])
    assert restarted.events() == stored
    for event in stored:
        assert restarted.index.centroid(event.id) == whole.index.centroid(event.id)


def test_restore_events_puts_undated_articles_back_at_their_arrival_clock() -> None:
    """An undated report counts at the clock it arrived at, not the restart's: the quiet window closes alike."""
    wire = Article("wire", "Meridian", "https://meridian.example/wire", "", WIRE, None)
    other = Article("other", "Other", "https://other.example/other", OTHER_OUTLET_TITLE, OTHER_OUTLET, None)
    whole = EventTracker()
    stored = whole.add(wire, (), T0).event
    later = T0 + whole.params.quiet_window + timedelta(hours=1)
    last = whole.add(other, (), later)
    assert last.assignment.kind == "new_event"  # the fire's event closed a quiet window after its report
    restarted = EventTracker()
    restarted.restore_events([stored], [(stored.id, wire, T0)])
    assert restarted.add(other, (), later) == last
