"""EventTracker: the pure stateful object that turns a stream of articles into events with summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core.cluster import EventIndex
from bot.core.summarize import Candidate, Title, best_headline, sentence_candidates, summarize, title_candidate
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article, Assignment, Event, EventChange, EventUpdate, Report

# What the tracker takes in: an article, the topic terms it matched and the clock at its arrival.
Arrival = tuple[Article, tuple[str, ...], datetime]

# Estimated shingle Jaccard above which an untitled reprint from the same outlet is the same article.
_IDENTICAL_TEXT = 0.9


@dataclass(slots=True)
class _State:
    """What the tracker keeps per live event besides the Event itself."""

    event: Event
    candidates: list[Candidate] = field(default_factory=list)
    titles: list[Title] = field(default_factory=list)  # outlets' titles in arrival order, prepared once
    n_text_articles: int = 0  # articles whose sentences were taken (capped: summaries stay cheap)
    # A copy of the index's centroid of the event when its latest material arrived: what the headline and
    # summary are ranked against, still at hand when the index has evicted the event.
    weights: Mapping[str, float] = field(default_factory=dict)
    stale: bool = False  # material added since the headline and summary were last ranked


class EventTracker:
    """Assigns articles to events and keeps each event's reports, headline, summary and matched terms."""

    def __init__(self, params: ClusterParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self.index = EventIndex(params)
        self._states: dict[str, _State] = {}

    def __len__(self) -> int:
        """Number of live events."""
        return len(self._states)

    def get(self, event_id: str) -> Event | None:
        """The current state of a live event."""
        st = self._states.get(event_id)
        return st.event if st is not None else None

    def events(self) -> list[Event]:
        """All live events, oldest first."""
        return [st.event for st in self._states.values()]

    def add(self, article: Article, terms: tuple[str, ...], now: datetime) -> EventUpdate:
        """Assign one article and return its event as it now stands, with what changed."""
        return self.add_many([(article, terms, now)])[0]

    def add_many(self, items: Iterable[Arrival]) -> list[EventUpdate]:
        """Assign (article, matched terms, clock) items in order; one update per item.

        Each event the items touch has its headline and summary ranked once, after the last item (a poll
        cycle's articles, a replay's chunk), not once per report: every update carries its event as it
        stands after the whole batch.
        """
        steps: list[tuple[Assignment, _State, EventChange]] = []
        try:
            for article, terms, now in items:
                steps.append(self._step(article, terms, now))
        finally:
            # Also when an item raised: the reports taken before it stay, so their events must not keep a
            # stale (for a new event, blank) headline and summary.
            for _, st, _ in steps:
                if st.stale:
                    self._rank(st)
        return [EventUpdate(assignment, st.event, change) for assignment, st, change in steps]

    def _step(self, article: Article, terms: tuple[str, ...], now: datetime) -> tuple[Assignment, _State, EventChange]:
        """Assign one article and record its report; ranking the headline and summary is left to add_many."""
        assignment = self.index.assign(article, now)
        self._drop_evicted()
        st = self._states.get(assignment.event_id)
        if assignment.kind == "duplicate" and st is not None:
            return assignment, st, "unchanged"
        if assignment.kind == "reprint" and st is not None and _reserved(st.event, article, assignment.score):
            # The outlet re-served its own article under a new id (a GUID minted on every poll): not news.
            return assignment, st, "unchanged"
        if assignment.kind == "duplicate":
            # Held by the index but not here (cannot happen through this class): treat as new.
            assignment = replace(assignment, kind="new_event")
        if st is not None:
            self._add_report(st, article, terms, now)
            return assignment, st, "grown"
        st = self._new_state(assignment, now)
        try:
            self._add_report(st, article, terms, now)
        except BaseException:
            # No event without a report: the index keeps the article, and the event's next report starts it.
            del self._states[st.event.id]
            raise
        return assignment, st, "new"

    def restore_events(self, events: Sequence[Event], assigned: Sequence[tuple[str, Article, datetime]]) -> None:
        """Rebuild stored events after a restart: index entries, sentences and titles, as they were.

        `assigned` holds (event id, article, clock when it arrived) for every article assigned to one of the
        events, reported or not (a reprint its outlet re-served counted in the index but is no report), in
        arrival order across all of them: the index weighs each article by the document frequencies of
        those before it, so replaying them event by event would weigh them differently.
        """
        states: dict[str, _State] = {}
        reported: dict[str, set[str]] = {}
        for event in events:
            states[event.id] = self._states.setdefault(event.id, _State(event=event))
            reported[event.id] = {report.article_id for report in event.reports}
        for event_id, article, arrived in assigned:
            st = states.get(event_id)
            if st is None:
                continue
            self.index.restore(article, event_id, arrived)
            if article.id in reported[event_id]:
                self._take_material(st, article)
        for event in events:
            st = states[event.id]
            st.event = event
            st.weights = dict(self.index.centroid(event.id))
            st.stale = False  # the stored headline and summary stand until a new report brings material

    def clear(self) -> None:
        """Forget every event and the index's statistics: the state of a new tracker, to restore into."""
        self.index = EventIndex(self.params)
        self._states = {}

    def evict(self, now: datetime) -> list[str]:
        """Forget events past the retention window; returns their ids."""
        gone = self.index.evict(now)
        for eid in gone:
            self._states.pop(eid, None)
        self._drop_evicted()
        return gone

    def _drop_evicted(self) -> None:
        """Drop the states of events the index forgot while assigning."""
        for eid in self.index.drain_evicted():
            self._states.pop(eid, None)

    def _new_state(self, assignment: Assignment, now: datetime) -> _State:
        """An empty event for a new_event assignment."""
        event = Event(
            id=assignment.event_id,
            reports=(),
            headline="",
            summary="",
            follows=assignment.follows,
            matched_terms=(),
            first_seen=now,
            updated=now,
        )
        st = _State(event=event)
        self._states[event.id] = st
        return st

    def _take_material(self, st: _State, article: Article) -> None:
        """Keep the article's title and first content sentences for headlines and summaries."""
        if article.title.strip() and len(st.titles) < 2 * self.params.summary_articles:
            st.titles.append(title_candidate(article.title, article.outlet, self.params))
        if article.text.strip() and st.n_text_articles < self.params.summary_articles:
            st.candidates.extend(sentence_candidates(article.text, st.n_text_articles, self.params))
            st.n_text_articles += 1

    def _add_report(self, st: _State, article: Article, terms: tuple[str, ...], now: datetime) -> None:
        """Append the report and its matched terms; mark the headline and summary for ranking if it brings material."""
        ev = st.event
        n_titles, n_text = len(st.titles), st.n_text_articles
        self._take_material(st, article)
        report = Report(
            article_id=article.id,
            outlet=article.outlet,
            url=article.url,
            title=article.title,
            published=article.published,
            seen=now,
        )
        # Only new material can change the text: past the caps a report costs no re-ranking. The centroid is
        # copied with it, so that ranking later in the batch gives what ranking now would: the index goes on
        # updating its own (a reserved reprint moves it too, though it leaves the event unchanged) and forgets
        # it when it evicts the event.
        if len(st.titles) != n_titles or st.n_text_articles != n_text or not ev.reports:
            st.stale = True
            st.weights = dict(self.index.centroid(ev.id))
        st.event = replace(
            ev,
            reports=(*ev.reports, report),
            matched_terms=tuple(dict.fromkeys((*ev.matched_terms, *terms))),
            updated=now,
        )

    def _rank(self, st: _State) -> None:
        """Rank the event's headline and summary against its centroid as it now stands."""
        head = best_headline(st.titles, st.candidates, st.weights, self.params)
        summary = summarize(st.candidates, st.weights, self.params)
        st.event = replace(st.event, headline=head, summary=summary)
        st.stale = False


def _reserved(event: Event, article: Article, reprint_score: float) -> bool:
    """True when the event already holds this outlet's report under the same title (or, untitled, the same text).

    An empty title says nothing: two untitled near-copies from one outlet are the same article only when
    the text is all but identical (ECB+ gives every document one outlet and no title; its real reprints
    score 0.35–0.6 and must still be recorded).
    """
    title = article.title.casefold().strip()
    same_outlet = [r for r in event.reports if r.outlet == article.outlet]
    if not same_outlet:
        return False
    if title:
        return any(r.title.casefold().strip() == title for r in same_outlet)
    return reprint_score >= _IDENTICAL_TEXT
