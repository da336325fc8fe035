"""EventTracker: the pure stateful object that turns a stream of articles into events with summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core.cluster import EventIndex
from bot.core.summarize import Candidate, Title, best_headline, sentence_candidates, summarize, title_candidate
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article, Assignment, Event, EventChange, EventUpdate, Report

# Estimated shingle Jaccard above which an untitled reprint from the same outlet is the same article.
_IDENTICAL_TEXT = 0.9


@dataclass(slots=True)
class _State:
    """What the tracker keeps per live event besides the Event itself."""

    event: Event
    candidates: list[Candidate] = field(default_factory=list)
    titles: list[Title] = field(default_factory=list)  # outlets' titles in arrival order, prepared once
    n_text_articles: int = 0  # articles whose sentences were taken (capped: summaries stay cheap)


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
        assignment = self.index.assign(article, now)
        self._drop_evicted()
        st = self._states.get(assignment.event_id)
        if assignment.kind == "duplicate" and st is not None:
            return EventUpdate(assignment, st.event, "unchanged")
        if assignment.kind == "reprint" and st is not None and _reserved(st.event, article, assignment.score):
            # The outlet re-served its own article under a new id (a GUID minted on every poll): not news.
            return EventUpdate(assignment, st.event, "unchanged")
        if assignment.kind == "duplicate":
            # Held by the index but not here (cannot happen through this class): treat as new.
            assignment = replace(assignment, kind="new_event")
        change: EventChange
        if st is None:
            st = self._new_state(assignment, article, now)
            change = "new"
        else:
            change = "grown"
        self._add_report(st, article, terms, now)
        return EventUpdate(assignment, st.event, change)

    def restore(self, event: Event, articles: Sequence[Article], now: datetime) -> None:
        """Rebuild a stored event after a restart: index entries, sentences and titles, as they were."""
        by_id = {a.id: a for a in articles}
        st = self._states.get(event.id)
        if st is None:
            st = _State(event=event)
            self._states[event.id] = st
        for report in event.reports:
            article = by_id.get(report.article_id)
            if article is None:
                continue
            self.index.restore(article, event.id, now)
            self._take_material(st, article)
        st.event = event

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

    def _new_state(self, assignment: Assignment, article: Article, now: datetime) -> _State:
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
        """Append the report and refresh headline, summary and matched terms."""
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
        head, summary = ev.headline, ev.summary
        # Only new material can change the text; once the caps are reached a report costs no re-ranking.
        if len(st.titles) != n_titles or st.n_text_articles != n_text or not ev.reports:
            weights = self.index.centroid(ev.id)
            head = best_headline(st.titles, st.candidates, weights, self.params)
            summary = summarize(st.candidates, weights, self.params)
        st.event = replace(
            ev,
            reports=(*ev.reports, report),
            headline=head,
            summary=summary,
            matched_terms=tuple(dict.fromkeys((*ev.matched_terms, *terms))),
            updated=now,
        )


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
