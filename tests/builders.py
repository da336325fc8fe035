"""Small builders of model objects for tests (fixture data is written here, never copied from ../shared)."""

from __future__ import annotations

import random
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


# Pieces of news text that the summary path's shortcuts must treat exactly as its plain rules do: outlet
# furniture, abbreviations, initials, decimals, lost apostrophes, curly and tokeniser quotes, stops other than
# the full stop, non-ASCII letters, CJK stops and odd spacing.
_TRICKY_PIECES = (
    "PUBLISHED : Sunday, 4 May, 2031, 11:02am",
    "Updated: 09:14 GMT",
    "By Jane Doe",
    "BY JANE DOE and Ole Brandt",
    "By Monday, talks had stalled.",
    "READ MORE: Dock unions threaten strike",
    "Related | Port fire",
    "Join our Telegram channel for the latest updates.",
    "Follow us on Twitter for more.",
    "PHOTO: Meridian Pictures",
    "(Photo: Reuters)",
    "Copyright 2031 Meridian. All rights reserved.",
    "(c) 2031",
    "A version of this article appeared in print.",
    "Subscribe now for unlimited access.",
    "Click here to read more.",
    "Reporting by Ole Brandt; Editing by Jana Ruskova.",
    "See www.example.com or https://example.org/x.html for more.",
    "Advertisement",
    "SEOUL (Reuters) - ",
    "WASHINGTON, March 3 (AP) — ",
    "The U.S. envoy met Mr. Varnholt and Dr. Achterberg.",
    "Author J. R. Moravec spoke at 3 p.m. on Jan. 5.",
    "Prices rose 2.5 per cent, or 1,200 yuan.",
    "China s envoy said they re sure it s over and he d go, but don t ask.",
    "I m sure we ll win , he said ; it s 5 m long .",
    "Talks\tresumed\t, officials said\u00a0; the rest\u2003: nothing.",
    "She said I m fine",
    "The ministry s plan was ready.",
    "Officials didn t agree to the plan.",
    "The plan was the ministry s",
    "They ve left and you d think we re done.",
    "Velmora’s ministry said “the fire is out” and ‘contained’.",
    "``We are done,'' he said .",
    "Is it over? Yes! Fine…",
    "He paused… Then the talks resumed.",
    "“Stop!” she said. He stopped.",
    "Zürich’s Société Générale café said so.",
    "港口关闭了。工人受伤！“是吗？”他说。",
    "It’s 50% — or 60 % — of the total.",
)
_TRICKY_WORDS = (
    "the",
    "harbour",
    "ministry",
    "closed",
    "port",
    "after",
    "fire",
    "spread",
    "to",
    "two",
    "cranes",
    "workers",
    "were",
    "treated",
    "for",
    "smoke",
    "Castemoor",
    "Velmora",
    "Alder",
    "officials",
    "said",
    "talks",
    "would",
    "resume",
    "on",
    "Thursday",
    "with",
    "new",
    "mediator",
)
_TRICKY_GAPS = (" ", " ", " ", "  ", "\n", "\n", "\n", "\n\n", "\r\n", "\r", "\t", "\u2028", "\x85", "\u00a0", ". ")


def tricky_text(rng: random.Random, pieces: int = 40) -> str:
    """A random news-like text mixing plain sentences with the tricky pieces, joined by assorted line breaks."""
    parts: list[str] = []
    for _ in range(pieces):
        if rng.random() < 0.4:
            parts.append(rng.choice(_TRICKY_PIECES))
        else:
            words = rng.choices(_TRICKY_WORDS, k=rng.randint(3, 30))
            words[0] = words[0].capitalize()
            parts.append(" ".join(words) + rng.choice((".", ".", ".", "", "?", "!", ".”", ".)")))
        parts.append(rng.choice(_TRICKY_GAPS))
    return "".join(parts)
