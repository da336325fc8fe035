"""Frozen dataclasses that cross module boundaries; every datetime here is timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class Feed:
    """One configured feed: the outlet name shown in alerts and where to fetch it."""

    name: str
    url: str
    interval_s: int = 900


@dataclass(frozen=True, slots=True)
class Article:
    """One news item, normalised: clean text, canonical URL, UTC time."""

    id: str  # stable: derived from the canonical URL (GUID, then content, when there is no link)
    outlet: str  # the outlet name shown in alerts (the feed's `name`)
    url: str  # canonical URL: tracking parameters and fragment removed
    title: str  # clean text; may be empty
    text: str  # clean text of the item's content or summary; may be empty
    published: datetime | None  # UTC; None when the feed gave no usable date
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """Whether an article matches the topic rules, and which terms made it so."""

    matched: bool
    terms: tuple[str, ...] = ()  # the terms found, as written in the rules
    reason: str = ""  # one readable line: which rule groups held


AssignmentKind = Literal["duplicate", "reprint", "same_event", "new_event"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where the event index put one article, and why."""

    article_id: str
    event_id: str
    kind: AssignmentKind
    follows: str | None = None  # for a new event that continues an earlier one
    score: float = 0.0  # similarity that decided it (1.0 for a duplicate)


@dataclass(frozen=True, slots=True)
class Report:
    """One outlet's article within an event, in the order outlets reported."""

    article_id: str
    outlet: str
    url: str
    title: str
    published: datetime | None
    seen: datetime  # when Wirewatch first saw it (the clock of the cycle or replay)


@dataclass(frozen=True, slots=True)
class Event:
    """One happening, as reported by one or more outlets."""

    id: str
    reports: tuple[Report, ...]
    headline: str
    summary: str
    follows: str | None
    matched_terms: tuple[str, ...]
    first_seen: datetime
    updated: datetime

    @property
    def article_ids(self) -> tuple[str, ...]:
        """Ids of the event's articles in the order they arrived."""
        return tuple(r.article_id for r in self.reports)

    @property
    def outlets(self) -> tuple[str, ...]:
        """Distinct outlet names in the order they first reported."""
        return tuple(dict.fromkeys(r.outlet for r in self.reports))

    @property
    def first_report(self) -> datetime:
        """Time of the first report: the earliest publication date, else when it was first seen."""
        dates = [r.published for r in self.reports if r.published is not None]
        return min(dates) if dates else self.first_seen


EventChange = Literal["new", "grown", "unchanged"]


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """The result of adding one article: the event as it now stands and what changed."""

    assignment: Assignment
    event: Event
    change: EventChange  # new event; grown (new report or better headline/summary); unchanged


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """What the store knows about one feed's polling."""

    name: str
    url: str
    last_success: datetime | None
    last_error: str | None
    last_error_kind: str | None
    consecutive_failures: int
    failing_since: datetime | None
    next_poll: datetime | None
    entries_seen: int = 0
    retry_after_until: datetime | None = None  # the server asked (Retry-After) not to be polled before this


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: the alert for one event on one sink."""

    sink: str  # "telegram:channel", "telegram:dm:<chat id>", "discord:<n>", "console"
    event_id: str
    revision: int  # the event revision this row wants delivered
    delivered_revision: int  # 0 until the first successful send
    message_id: str | None  # the platform's id, recorded right after the send
    reply_to: str | None  # the parent event id for a follow-up
    state: Literal["pending", "sent", "gone", "failed"]
    attempts: int
    next_attempt: datetime
    last_sent: datetime | None
    last_error: str | None
    created: datetime  # when the row was queued
