"""The demo's sample feeds: invented items written for Wirewatch, revealed in stages on a loopback server.

The story is fictional. It has the shapes the product must handle: a wire story, a republished
near-copy with small edits, an independent report of the same happening, a follow-up days later,
and off-topic items that must not be alerted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class SampleItem:
    """One item of a sample feed; `age` is how long before the demo's start it was published."""

    feed: str  # which sample feed carries it
    stage: int  # the demo stage at which it appears
    slug: str
    title: str
    body: str  # paragraphs separated by blank lines; may hold simple HTML
    age: timedelta
    note: str  # what the demo says when it appears


SAMPLE_FEEDS = {
    "Northwire": "northwire",  # a wire service
    "Harbour Post": "harbour-post",  # a paper that republishes wire copy
    "Capital Daily": "capital-daily",  # an outlet with its own correspondent
}

WIRE_STORY = """\
BEIJING (Northwire) - China and North Korea agreed on Tuesday to reopen the Sinuiju-Dandong road bridge
to freight traffic next month, North Korea's state media said, the first such step since the border
was closed.

The agreement was signed in Beijing by North Korea's external economic relations minister and China's
commerce ministry, according to the Korean Central News Agency, which said trade would "develop in the
interests of the peoples of the two countries."

Kim Jong Un's government has sought more trade with China, its main economic partner, which accounts
for more than 90 percent of North Korea's recorded foreign trade.

Analysts said it was too early to tell whether Beijing would relax its enforcement of United Nations
sanctions, which ban most North Korean exports.
"""

NEAR_COPY = """\
PUBLISHED: Tuesday, 10:41am

China and North Korea agreed on Tuesday to reopen the Sinuiju-Dandong road bridge to freight traffic
next month, North Korea’s state media said, the first such step since the border was closed.

The agreement was signed in Beijing by North Korea’s external economic relations minister and China’s
commerce ministry, according to the Korean Central News Agency, which said trade would “develop in the
interests of the peoples of the two countries.”

READ MORE: <a href="https://harbour-post.example/asia/older-story">Border towns wait for the trucks</a>

Kim Jong-un’s government has sought more trade with China, its main economic partner, which accounts
for more than 90 per cent of North Korea’s recorded foreign trade.
"""

INDEPENDENT = """\
Freight lorries will again be allowed across the Yalu river bridge linking Dandong and Sinuiju from
next month, after Chinese and North Korean officials signed a trade protocol in Beijing, officials in
both capitals said.

The protocol, agreed between Pyongyang's trade ministry and the Chinese commerce ministry, covers
customs checks and the quarantine of goods, a commerce ministry spokesperson told reporters.

Traders in Dandong said they expected food, fertiliser and building materials to be the first cargo
to cross.
"""

FOLLOW_UP = """\
DANDONG, China (Northwire) - The first Chinese freight lorries crossed the Yalu river bridge into North
Korea on Wednesday, a week after Beijing and Pyongyang agreed to reopen the crossing to trade.

Around forty lorries loaded with flour and fertiliser drove into Sinuiju, witnesses said, and Chinese
customs officers in Dandong said more convoys would follow each weekday.

Chinese President Xi Jinping and North Korean leader Kim Jong Un exchanged messages marking the
reopening, the Korean Central News Agency said.
"""

SAMPLE_ITEMS: tuple[SampleItem, ...] = (
    SampleItem(
        "Northwire",
        0,
        "china-north-korea-bridge-freight",
        "China, North Korea agree to reopen border bridge to freight",
        WIRE_STORY,
        timedelta(days=7, hours=3),
        "Northwire files the wire story",
    ),
    SampleItem(
        "Northwire",
        0,
        "tokyo-stocks-close",
        "Tokyo stocks close higher as exporters gain",
        "Japanese shares rose on Tuesday, led by carmakers and electronics exporters, as the yen weakened.",
        timedelta(days=7, hours=2),
        "an off-topic market report",
    ),
    SampleItem(
        "Capital Daily",
        0,
        "seoul-subway-line",
        "Seoul opens new subway line to the airport",
        "South Korea's capital opened a new express line on Monday, cutting the trip to the airport to 30 minutes.",
        timedelta(days=7, hours=5),
        "an off-topic city story",
    ),
    SampleItem(
        "Harbour Post",
        1,
        "asia/china-north-korea-bridge",
        "Beijing and Pyongyang to reopen Yalu bridge to cargo trucks next month",
        NEAR_COPY,
        timedelta(days=7, hours=1),
        "Harbour Post republishes the wire story with small edits (a near-copy)",
    ),
    SampleItem(
        "Capital Daily",
        2,
        "world/yalu-bridge-trade-protocol",
        "Cargo to cross Yalu bridge again under China-North Korea trade protocol",
        INDEPENDENT,
        timedelta(days=6, hours=22),
        "Capital Daily's correspondent reports the same agreement in other words",
    ),
    SampleItem(
        "Harbour Post",
        2,
        "china-factory-output",
        "China's factory output grows faster than expected",
        "Industrial production in China rose 6.1 percent from a year earlier, the statistics bureau said.",
        timedelta(days=6, hours=20),
        "an off-topic China-only story",
    ),
    SampleItem(
        "Northwire",
        3,
        "first-lorries-cross-yalu-bridge",
        "First Chinese lorries cross into North Korea as bridge reopens",
        FOLLOW_UP,
        timedelta(minutes=20),
        "a week later: the first lorries cross (a follow-up, a new event)",
    ),
)

LAST_STAGE = max(item.stage for item in SAMPLE_ITEMS)


def feed_xml(feed: str, stage: int, base_url: str, start: datetime) -> str:
    """The RSS document of one sample feed as it stands at `stage`, newest item first."""
    items = sorted((i for i in SAMPLE_ITEMS if i.feed == feed and i.stage <= stage), key=lambda i: i.age)
    slug = SAMPLE_FEEDS[feed]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(feed)}</title><link>https://{slug}.example/</link>",
        f"<description>Wirewatch demo feed: {escape(feed)}</description>",
    ]
    for item in items:
        link = f"https://{slug}.example/{item.slug}?utm_source=rss"
        html = "".join(f"<p>{para.strip()}</p>" for para in item.body.split("\n\n") if para.strip())
        parts.append(
            "<item>"
            f"<title>{escape(item.title)}</title>"
            f"<link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{slug}-{escape(item.slug)}</guid>'
            f"<pubDate>{format_datetime(start - item.age)}</pubDate>"
            f"<description>{escape(html)}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts)
