"""Shared pieces of the fault-injection suite: feed builders, a hand-moved clock, the real pipeline wiring."""

from __future__ import annotations

import functools
import html
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from bot.adapters.fetch import Fetcher, FetchLimits
from bot.adapters.store import Store
from bot.core.events import EventTracker
from bot.core.tuning import DEFAULT_PARAMS
from bot.pipeline import Pipeline, PollPolicy
from bot.settings import load_topics
from tests.builders import Clock

REPO = Path(__file__).resolve().parents[2]
TOPICS = REPO / "config" / "topics.toml"

# Short limits for in-process cycles, so a 30-second stall or a trickling body costs ~2 s, not 30 s. The
# production defaults (FetchLimits()) are 10 / 20 / 30 s; the code path is the same, only the numbers shrink.
SHORT_LIMITS = FetchLimits(connect_timeout_s=1.0, read_timeout_s=1.5, total_timeout_s=2.5)

# Distinct North Korea–China headlines that the shipped topic rules match, one per news event.
HEADLINES = (
    "Xi Jinping hosts Kim Jong Un in Beijing for talks on trade",
    "China and North Korea reopen the Sinuiju-Dandong bridge to freight trucks",
    "Pyongyang sends a delegation to Beijing to discuss fertilizer aid from China",
    "Chinese Foreign Minister Wang Yi visits Pyongyang to meet Choe Son Hui",
    "North Korea and China sign an agreement on tourism across the Yalu river",
    "Beijing urges Pyongyang to return to six-party talks, Chinese envoy says",
    "Chinese customs data show North Korea imports of rice from China doubled",
    "North Korea thanks China for flood relief shipped across the Tumen river",
    "China and North Korea mark 65 years of their friendship treaty in Pyongyang",
    "North Korean workers return from Chinese seafood plants, Beijing confirms",
    "China blocks new UN sanctions on North Korea at the Security Council",
    "North Korean trade fair opens in Dandong with Chinese buyers from Liaoning",
)

# A second sentence per event, sharing no rare words with the others, so each event stays its own.
DETAILS = (
    "The two leaders toasted a new tariff schedule at the Great Hall banquet.",
    "Lorries loaded with cement crossed the span at dawn, customs officers said.",
    "The delegation asked for urea and potash before the spring planting season.",
    "Wang carried a handwritten message and a gift of porcelain vases.",
    "Tour groups from Shenyang may cross by ferry from May, operators said.",
    "The envoy spoke after a closed session with diplomats in Geneva.",
    "Shipments of polished grain rose to forty thousand tonnes in March.",
    "Tents, blankets and water pumps arrived in Hamgyong villages on Friday.",
    "A wreath was laid at the memorial for volunteer soldiers near Hoechang.",
    "Seafood processors in Dalian lost about three thousand employees.",
    "Diplomats said the veto surprised delegations from Europe.",
    "Buyers inspected textiles, ginseng and mineral water at the exhibition halls.",
)


def jargon(n: int, words: int = 40) -> str:
    """Made-up words unique to event `n` (no two events share one), so events never look alike."""
    syllables = ("ka", "lo", "mi", "tu", "re", "sa", "vo", "ni", "pe", "zu", "ha", "go")
    made = [
        syllables[n] + syllables[(k * 7 + n) % 12] + syllables[k % 12] + syllables[(k // 12) % 12] for k in range(words)
    ]
    return "Local sources named " + " ".join(made) + "."


@dataclass(frozen=True)
class Item:
    """One RSS item as the test writes it (raw strings go into the XML as given, already escaped or not)."""

    title: str
    link: str | None = None
    guid: str | None = None
    description: str = ""
    published: datetime | None = None
    raw: bool = False  # True: title/description are inserted verbatim (for markup and entity tricks)


def rss(items: Iterable[Item], *, title: str = "Test feed", prolog: str = "") -> bytes:
    """An RSS 2.0 document; `prolog` goes between the XML declaration and <rss> (a DOCTYPE, say)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>{title}</title>']
    for item in items:
        esc = (lambda s: s) if item.raw else html.escape
        parts.append("<item>")
        parts.append(f"<title>{esc(item.title)}</title>")
        if item.link is not None:
            parts.append(f"<link>{esc(item.link)}</link>")
        if item.guid is not None:
            parts.append(f'<guid isPermaLink="false">{esc(item.guid)}</guid>')
        if item.description:
            parts.append(f"<description>{esc(item.description)}</description>")
        if item.published is not None:
            parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def story(n: int, outlet: str, when: datetime, *, variant: int = 0) -> Item:
    """Outlet `outlet`'s report of news event `n`: the same headline everywhere, a link per outlet."""
    slug = outlet.lower().replace(" ", "-")
    return Item(
        title=HEADLINES[n],
        link=f"https://{slug}.example/news/{n}",
        guid=f"{slug}-{n}-{variant}",
        description=f"{HEADLINES[n]}. {DETAILS[n]} {jargon(n)}",
        published=when,
    )


@functools.lru_cache(maxsize=1)
def gzip_bomb(inflated_mib: int = 128) -> bytes:
    """A gzip body of zeros that inflates ~1,000:1 (128 MiB from ~130 KB); built once per session."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(inflated_mib)), packer.flush()])


def pipeline(
    store: Store, fetcher: Fetcher, clock: Clock, sinks: Sequence[str] = ("rec",), *, jitter: float = 0.0
) -> Pipeline:
    """The real Pipeline with the shipped topic rules, a fresh event tracker and fixed sink names."""
    return Pipeline(
        store=store,
        fetcher=fetcher,
        rules=load_topics(TOPICS),
        tracker=EventTracker(DEFAULT_PARAMS),
        sinks=lambda: list(sinks),
        clock=clock,
        policy=PollPolicy(jitter=jitter),
    )
