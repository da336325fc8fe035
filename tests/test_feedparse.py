"""Feed parsing: real feeds, broken input, dates, links and text cleanup."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.feedparse import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    ParsedFeed,
    _parse_date_named_zone,
    parse_feed,
    strip_unused_elements,
)
from bot.core.urls import article_id
from bot.errors import ParseError

BASE = "https://news.example.org/feeds/world.xml"
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
REAL_FEEDS = (
    "abc-international", "aljazeera", "bbc-world", "cbs-world", "csmonitor", "dawn-world", "dw",
    "foreign-policy", "japantoday-world", "npr-world", "nyt-world", "wsj-world",
)  # fmt: skip


def rss(items: str, *, channel: str = "<title>Test feed</title>", encoding: str = "utf-8") -> bytes:
    """A small RSS 2.0 document around `items`."""
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    return (
        head + f'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>{channel}{items}'
        "</channel></rss>\n"
    ).encode(encoding)


def parse(body: bytes, headers: dict[str, str] | None = None, base_url: str = BASE) -> ParsedFeed:
    """parse_feed with test defaults."""
    return parse_feed(body, RSS_HEADERS if headers is None else headers, outlet="Test", base_url=base_url)


def shared_feed_files(shared_dir: Path) -> list[Path]:
    """Every feed file under ../shared/data/feeds (licences excluded)."""
    root = shared_dir / "data" / "feeds"
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("LICENSE"))


# -- the shared corpus -------------------------------------------------------------------------------------


@pytest.mark.shared
def test_every_shared_feed_parses_or_raises_parse_error(shared_dir: Path) -> None:
    """Each of the ~1,800 files either parses or raises ParseError; never another exception.

    The same pass checks that cutting UNUSED_ELEMENTS (the speed-up) never changes a feed's articles.
    """
    files = shared_feed_files(shared_dir)
    assert len(files) > 1000
    parsed = rejected = 0
    for path in files:
        body = path.read_bytes()
        try:
            fast = parse_feed(body, {}, outlet="x", base_url="http://example.org/feed")
        except ParseError:
            rejected += 1
            with pytest.raises(ParseError):
                parse_feed(body, {}, outlet="x", base_url="http://example.org/feed", strip_unused=False)
            continue
        parsed += 1
        plain = parse_feed(body, {}, outlet="x", base_url="http://example.org/feed", strip_unused=False)
        assert fast.articles == plain.articles, path.name
        assert fast.entries == plain.entries, path.name
    assert parsed > 1700
    assert 5 <= rejected < 50


@pytest.mark.shared
@pytest.mark.parametrize("name", REAL_FEEDS)
def test_real_feeds_parse_with_entries_titles_links_and_dates(shared_dir: Path, name: str) -> None:
    """The 12 captured news feeds: every entry becomes an article with a title, an https link and a date."""
    body = (shared_dir / "data" / "feeds" / "news-2026-02" / f"{name}.xml").read_bytes()
    feed = parse_feed(body, {"content-type": "application/rss+xml"}, outlet=name, base_url=BASE)
    assert feed.warning is None
    assert feed.title
    assert feed.entries >= 10
    assert len(feed.articles) == feed.entries
    for article in feed.articles:
        assert article.outlet == name
        assert article.title and "\n" not in article.title
        assert article.url.startswith("https://")
        assert article.text
        assert article.published is not None
        assert article.published.tzinfo is UTC
        assert datetime(2025, 1, 1, tzinfo=UTC) < article.published < datetime(2026, 3, 1, tzinfo=UTC)
        assert article.id == article_id(url=article.url, guid=article.guid, title=article.title, text=article.text)


@pytest.mark.shared
def test_real_feed_golden_values(shared_dir: Path) -> None:
    """Known first items: clean title and text, tracking parameters dropped, EST/GMT dates in UTC."""
    feeds = shared_dir / "data" / "feeds" / "news-2026-02"
    bbc = parse(feeds.joinpath("bbc-world.xml").read_bytes()).articles[0]
    assert bbc.title == "US civil rights leader Jesse Jackson dies aged 84"
    assert bbc.url == "https://www.bbc.com/news/articles/cp81l0e1eg5o"  # ?at_medium=RSS&at_campaign=rss gone
    assert bbc.published == datetime(2026, 2, 17, 18, 55, 33, tzinfo=UTC)
    dawn = parse(feeds.joinpath("dawn-world.xml").read_bytes()).articles[0]
    assert dawn.text.startswith("India’s information minister said on Tuesday")
    assert "<" not in dawn.text
    assert dawn.published == datetime(2026, 2, 17, 15, 1, 20, tzinfo=UTC)  # +0500
    csm = parse(feeds.joinpath("csmonitor.xml").read_bytes()).articles[0]
    assert csm.published == datetime(2026, 2, 17, 23, 3, 7, tzinfo=UTC)  # 18:03:07 EST


@pytest.mark.shared
def test_shared_html_page_is_rejected(shared_dir: Path) -> None:
    """node-feedparser's notafeed.html is reported as an HTML page, naming its title."""
    body = (shared_dir / "data" / "feeds" / "node-feedparser" / "notafeed.html").read_bytes()
    with pytest.raises(ParseError, match=r"^got an HTML page, not a feed \("):
        parse(body, {"content-type": "text/html"})


# -- dates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("Tue, 17 Feb 2026 09:00:00 KST", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 09:00:00 JST", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 08:00:00 HKT", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 08:00:00 SGT", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 01:00:00 CET", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Fri, 17 Jul 2026 02:00:00 CEST", datetime(2026, 7, 17, 0, 0, tzinfo=UTC)),
        ("Fri, 17 Jul 2026 10:00:00 AEST", datetime(2026, 7, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 11:00:00 AEDT", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("17 Feb 2026 03:30:00 KST", datetime(2026, 2, 16, 18, 30, tzinfo=UTC)),  # no weekday, across midnight
        ("2026-02-17 09:00:00 KST", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),  # ISO with a zone name
        ("2026-02-17T09:00:00 kst", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        # Not ours: feedparser's own readers still decide.
        ("Tue, 17 Feb 2026 09:00:00 +0900", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 04:00:00 EST", datetime(2026, 2, 17, 9, 0, tzinfo=UTC)),
        ("2026-02-17T09:00:00+09:00", datetime(2026, 2, 17, 0, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 09:00:00 GMT", datetime(2026, 2, 17, 9, 0, tzinfo=UTC)),
    ],
)
def test_pubdate_zones(stamp: str, expected: datetime) -> None:
    """Zone names feedparser misreads as UTC are corrected; numeric offsets and known names are untouched."""
    feed = parse(rss(f"<item><title>t</title><link>https://a.org/1</link><pubDate>{stamp}</pubDate></item>"))
    assert feed.articles[0].published == expected


def test_ambiguous_zone_names_are_left_to_feedparser() -> None:
    """IST, CST and BST mean different offsets in different countries: our handler declines them."""
    for zone in ("IST", "CST", "BST", "XYZ"):
        assert _parse_date_named_zone(f"Tue, 17 Feb 2026 09:00:00 {zone}") is None


def test_updated_is_used_when_published_is_missing_and_bad_dates_are_none() -> None:
    """Atom <updated> stands in for <published>; an unreadable date gives None, not an error."""
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><title>Updated only</title><link href="https://a.org/u"/><id>u</id><updated>2026-02-17T10:00:00Z</updated></entry>
<entry><title>Bad date</title><link href="https://a.org/b"/><id>b</id><published>someday soon</published></entry>
</feed>"""
    first, second = parse(atom, {"content-type": "application/atom+xml"}).articles
    assert first.published == datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    assert second.published is None


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", r"^not a feed: the response body is empty$"),
        (b"  \n\t ", r"^not a feed: the response body is empty$"),
        (
            b"<!DOCTYPE html><html><head><title>Sign in &amp; subscribe</title></head><body><p>x</p></body></html>",
            r"^got an HTML page, not a feed \('Sign in & subscribe'\)$",
        ),
        (b"<html><body>Moved</body></html>", r"^got an HTML page, not a feed$"),
        (b'<?xml version="1.0"?><config><a>1</a></config>', r"^XML without RSS, Atom or RDF .*root element <config>"),
        (b"\x00\x01\x02garbage\xff\xfe", r"^not a feed"),
        (b'{"items": []}', r"^not a feed: the body is not XML"),
        (gzip.compress(b"<rss/>"), r"^not a feed: the body is still gzip-compressed$"),
        (b'<rss version="2.0"><channel><title>Cut', r"^broken feed with no entries: not well-formed XML"),
        (b"/etc/passwd", r"^not a feed: the body is not XML"),  # never opened as a file name
    ],
)
def test_not_a_feed_raises_a_readable_parse_error(body: bytes, message: str) -> None:
    """Bodies that are not feeds raise ParseError saying what they are instead."""
    with pytest.raises(ParseError, match=message):
        parse(body, {"content-type": "text/html"})


def test_empty_but_valid_feed_is_not_an_error() -> None:
    """A well-formed feed with no items is simply empty."""
    feed = parse(rss(""))
    assert (feed.articles, feed.entries, feed.title, feed.warning) == ((), 0, "Test feed", None)


def test_malformed_feed_with_entries_is_accepted_with_a_warning() -> None:
    """A bare & makes the XML ill-formed; the entries are still read and the warning says why."""
    body = rss("<item><title>Trade & talks</title><link>https://a.org/1</link></item>").replace(b"&amp;", b"&")
    feed = parse(body)
    assert [a.title for a in feed.articles] == ["Trade & talks"]
    assert feed.warning is not None
    assert feed.warning.startswith("not well-formed XML at line")


def test_wrong_declared_encoding_is_recovered() -> None:
    """cp1252 bytes declared as UTF-8 decode correctly, with a warning naming the problem."""
    body = rss("<item><title>Café’s “view” — 5 €</title><link>https://a.org/1</link></item>", encoding="cp1252")
    body = body.replace(b'encoding="cp1252"', b'encoding="utf-8"')
    feed = parse(body)
    assert feed.articles[0].title == "Café’s “view” — 5 €"
    assert feed.warning is not None
    assert "declared character encoding was wrong" in feed.warning


def test_served_as_text_html_still_parses() -> None:
    """A real feed served with Content-Type text/html is read; the warning notes the type."""
    feed = parse(rss("<item><title>t</title><link>https://a.org/1</link></item>"), {"Content-Type": "text/html"})
    assert len(feed.articles) == 1
    assert feed.warning is not None
    assert "non-XML content type" in feed.warning


# -- entries -----------------------------------------------------------------------------------------------


def test_html_is_reduced_to_clean_text() -> None:
    """Content HTML becomes text: scripts dropped, entities decoded, paragraphs on their own lines."""
    item = (
        "<item><title>Kim &amp;amp; Xi meet</title><link>https://a.org/1</link>"
        "<description><![CDATA[<p>First&nbsp;para <b>bold</b>.</p><script>track()</script>"
        "<p>Second\u200b para</p>]]></description></item>"
    )
    article = parse(rss(item)).articles[0]
    assert article.title == "Kim & Xi meet"
    assert article.text == "First para bold.\nSecond para"


def test_content_is_preferred_over_summary() -> None:
    """content:encoded (full text) wins over description (a teaser)."""
    item = (
        '<item xmlns:content="http://purl.org/rss/1.0/modules/content/"><title>t</title>'
        "<link>https://a.org/1</link><description>Teaser</description>"
        "<content:encoded><![CDATA[<p>Full text</p>]]></content:encoded></item>"
    )
    assert parse(rss(item)).articles[0].text == "Full text"


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    """A relative <link> is made absolute against base_url, then canonicalised."""
    item = "<item><title>t</title><link>../2026/02/story.html?utm_source=rss#top</link></item>"
    article = parse(rss(item)).articles[0]
    assert article.url == "https://news.example.org/2026/02/story.html"


def test_xml_base_is_honoured() -> None:
    """Atom xml:base on an entry wins over the feed URL."""
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example.com/news/"><title>A</title>
<entry><title>t</title><link href="item/7"/><id>x</id><updated>2026-02-17T10:00:00Z</updated></entry></feed>"""
    assert parse(atom, {"content-type": "application/atom+xml"}).articles[0].url == (
        "https://other.example.com/news/item/7"
    )


def test_entries_without_link_title_or_text_are_skipped() -> None:
    """An empty entry is skipped but counted; one with only a title gets an id from its GUID."""
    items = (
        "<item><guid>empty-1</guid></item>"
        "<item><title>Only a title</title><guid isPermaLink='false'>g-2</guid></item>"
        "<item><description>Only text</description></item>"
    )
    feed = parse(rss(items))
    assert feed.entries == 3
    title_only, text_only = feed.articles
    assert (title_only.url, title_only.guid) == ("", "g-2")
    assert title_only.id == article_id(url=None, guid="g-2", title="Only a title", text="")
    assert text_only.id == article_id(url=None, guid=None, title="", text="Only text")


def test_non_http_links_are_dropped() -> None:
    """tag:, javascript: and mailto: links are not article URLs; the entry falls back to its GUID."""
    items = (
        "<item><title>a</title><link>javascript:alert(1)</link><guid>g-a</guid></item>"
        "<item><title>b</title><link>mailto:desk@example.org</link><guid>g-b</guid></item>"
    )
    assert [a.url for a in parse(rss(items)).articles] == ["", ""]


def test_same_article_twice_in_one_feed_is_kept_once() -> None:
    """Duplicate items (same canonical URL) collapse to the first one; entries still counts both."""
    items = (
        "<item><title>First</title><link>https://a.org/s?utm_source=x</link></item>"
        "<item><title>Again</title><link>https://a.org/s</link></item>"
    )
    feed = parse(rss(items))
    assert feed.entries == 2
    assert [a.title for a in feed.articles] == ["First"]


def test_same_article_through_two_feeds_gets_one_id() -> None:
    """Two outlets' feeds linking one article (different tracking, host case) give the same id."""
    one = parse(rss("<item><title>A</title><link>https://Wire.example.com/s/1?utm_medium=rss</link></item>"))
    two = parse(rss("<item><title>A (updated)</title><link>https://wire.example.com/s/1#x</link></item>"))
    assert one.articles[0].id == two.articles[0].id


def test_id_is_the_article_id_of_the_link_and_url_its_canonical_form() -> None:
    """The stored URL is the link canonicalised once; the id is what article_id gives for the raw link."""
    link = "https://Wire.example.com/s/2?utm_source=rss&amp;page=2 #top"
    [one] = parse(rss(f"<item><title>A</title><link>{link}</link><guid>g-2</guid></item>")).articles
    assert one.url == "https://wire.example.com/s/2?page=2"
    assert one.id == article_id(url=link.replace("&amp;", "&"), guid="g-2", title="A", text="")


def test_long_title_and_text_are_truncated() -> None:
    """Titles and texts past the limits are cut with an ellipsis."""
    long_text = "x" * 150_000
    item = (
        f"<item><title>{'word ' * 400}</title><link>https://a.org/1</link><description>{long_text}</description></item>"
    )
    article = parse(rss(item)).articles[0]
    assert len(article.title) <= MAX_TITLE_CHARS
    assert article.title.endswith("…")
    assert len(article.text) == MAX_TEXT_CHARS


def test_media_title_and_description_are_kept_by_the_speed_up() -> None:
    """YouTube-style items whose only text is media:description still get it."""
    item = (
        "<item><link>https://a.org/v</link><media:group><media:title>Video title</media:title>"
        "<media:description>What happened</media:description>"
        '<media:thumbnail url="https://a.org/t.jpg"/></media:group></item>'
    )
    article = parse(rss(item)).articles[0]
    assert (article.title, article.text) == ("Video title", "What happened")


def test_strip_unused_elements_cuts_only_leaf_elements() -> None:
    """Categories and thumbnails go; an unclosed one never swallows the items after it."""
    body = rss(
        "<item><title>a</title><category>World</category><category><![CDATA[Asia]]></category>"
        '<media:thumbnail url="x.jpg" alt="a > b"/><link>https://a.org/1</link></item>'
    )
    stripped = strip_unused_elements(body)
    assert b"category" not in stripped
    assert b"thumbnail" not in stripped
    assert b"<link>https://a.org/1</link>" in stripped
    broken = b"<item><category>Open<item><title>b</title></item><category>x</category>"
    assert strip_unused_elements(broken) == b"<item><category>Open<item><title>b</title></item>"
