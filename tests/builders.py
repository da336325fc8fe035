"""Small builders of model objects for tests (fixture data is written here, never copied from ../shared)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.models import Article, Event, Report

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand (timezone-aware): call it for the time, `advance` it by seconds."""

    def __init__(self, now: datetime | None = None) -> None:
        # Without a time: now, in whole seconds (tests against loopback servers that stamp their answers).
        self.now = now if now is not None else datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def article(
    n: int,
    *,
    outlet: str = "Wire One",
    title: str | None = None,
    text: str = "",
    published: datetime | None = T0,
) -> Article:
    """An article with a predictable id, URL and title."""
    return Article(
        id=f"a{n:04d}",
        outlet=outlet,
        url=f"https://news{n}.example/story/{n}",
        title=title if title is not None else f"Headline number {n}",
        text=text,
        published=published,
        guid=f"guid-{n}",
    )


def event(
    event_id: str,
    *outlets: str,
    follows: str | None = None,
    at: datetime = T0,
    headline: str = "Envoys meet at the border bridge",
) -> Event:
    """An event reported by `outlets` in order, a minute apart."""
    reports = tuple(
        Report(
            article_id=f"{event_id}-{i}",
            outlet=name,
            url=f"https://{name.lower().replace(' ', '')}.example/{event_id}/{i}",
            title=f"{headline} ({name})",
            published=at + timedelta(minutes=i),
            seen=at + timedelta(minutes=i),
        )
        for i, name in enumerate(outlets)
    )
    return Event(
        id=event_id,
        reports=reports,
        headline=headline,
        summary="Officials from both capitals met on Tuesday. They discussed trade across the river.",
        follows=follows,
        matched_terms=("Pyongyang", "Beijing"),
        first_seen=at,
        updated=at + timedelta(minutes=max(len(outlets) - 1, 0)),
    )
