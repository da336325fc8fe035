"""Pure feed parsing: feed bytes and response headers in, clean `Article`s out.

feedparser is used as a pure library here (it is handed bytes, never a URL or a file name); its dicts never
leave this module. Its HTML sanitizer and relative-URI rewriting are turned off (≈ 3.4× faster on real
feeds) because `text.html_to_text` reduces every field to plain text anyway.
"""

from __future__ import annotations

import email.utils
import html
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.core.text import clean_line, clean_text, html_to_text, truncate
from bot.core.urls import article_id, canonical_url, url_article_id
from bot.errors import ParseError
from bot.models import Article

# Longest real headline in ../shared/data/feeds/news-2026-02 is < 200 characters; 1,000 only stops abuse.
MAX_TITLE_CHARS = 1_000
# Full-text feeds (dawn, dw) carry whole articles of a few thousand words; 100,000 characters is far above
# any real article and bounds the memory and matching cost of a hostile one.
MAX_TEXT_CHARS = 100_000

# Zone abbreviations feedparser does not know: its RFC 822 reader treats any unknown name as UTC, so
# "09:00 KST" lands 9 hours late. Only names with a single meaning in news feeds are listed; ambiguous
# ones are left to feedparser on purpose: IST (India +5:30, Ireland +1, Israel +2), CST (China +8 but
# also US Central, which feedparser reads as −6), BST (British Summer Time or Bangladesh).
ZONE_OFFSETS: Mapping[str, timedelta] = {
    "KST": timedelta(hours=9),  # Korea: Yonhap, Korea Herald, JoongAng
    "JST": timedelta(hours=9),  # Japan: Kyodo, NHK, Japan Today
    "HKT": timedelta(hours=8),  # Hong Kong: SCMP, RTHK
    "SGT": timedelta(hours=8),  # Singapore: Straits Times, CNA
    "CET": timedelta(hours=1),  # European outlets (feedparser knows only the older MET/MEST)
    "CEST": timedelta(hours=2),
    "AEST": timedelta(hours=10),  # Australia: ABC
    "AEDT": timedelta(hours=11),
}

_ZONE_SUFFIX = re.compile(r"^(?P<stamp>.*\d)\s*(?P<zone>[A-Za-z]{3,4})\s*$")


def _parse_date_named_zone(value: str) -> time.struct_time | None:
    """feedparser date handler: an RFC 822 or ISO 8601 date ending in a zone name from ZONE_OFFSETS."""
    match = _ZONE_SUFFIX.match(value.strip())
    if match is None:
        return None
    offset = ZONE_OFFSETS.get(match["zone"].upper())
    if offset is None:
        return None
    stamp = match["stamp"].strip()
    fields = email.utils.parsedate(stamp)
    if fields is not None:
        local = datetime(*fields[:6])
    else:
        try:
            local = datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if local.tzinfo is not None:  # an explicit numeric offset wins over the name
            return local.astimezone(UTC).timetuple()
    return local.replace(tzinfo=timezone(offset)).astimezone(UTC).timetuple()


# Registered once, at import: feedparser keeps a process-wide list and tries the newest handler first.
feedparser.registerDateHandler(_parse_date_named_zone)


# Elements whose content Wirewatch never reads (images, tags, comment counts, RDF item lists). feedparser
# spends ≈ 40 µs of Python per element whatever it is, and these are ≈ 40% of the elements of the real feeds
# in ../shared/data/feeds/news-2026-02 (816 <category>, 480 media:*, 280 dc:subject/language, 141 rdf:li
# of 5,400), so they are cut from the bytes before feedparser sees them. Only leaf elements are cut (self-
# closing, or text/CDATA content), so a malformed one never swallows its neighbours; anything that could
# become a title, link, text, id or date is kept (media:title and media:description can: they stay).
# tests/test_feedparse.py checks that every file under ../shared/data/feeds gives the same articles with
# and without this step.
UNUSED_ELEMENTS: tuple[str, ...] = (
    "category", "dc:subject", "dc:language", "rdf:li", "image", "comments", "slash:comments",
    "wfw:commentRss", "post-id", "media:thumbnail", "media:content", "media:credit", "media:keywords",
    "media:rating", "media:restriction", "media:license", "media:player", "media:category",
    "media:copyright", "media:hash",
)  # fmt: skip
_UNUSED_ELEMENT = re.compile(
    rb"<(" + b"|".join(re.escape(name.encode()) for name in UNUSED_ELEMENTS) + rb")(?=[\s/>])"
    rb"""(?:[^>"']|"[^"]*"|'[^']*')*"""  # attributes, quoted values may hold ">"
    rb"(?:/>|>(?:[^<]|<!\[CDATA\[.*?\]\]>)*</\1\s*>)",  # self-closing, or text/CDATA up to its own end tag
    re.S,
)


def strip_unused_elements(body: bytes) -> bytes:
    """The feed bytes without the leaf elements listed in UNUSED_ELEMENTS (a speed-up; same articles)."""
    if not body.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" not in body[:4]:  # UTF-16/32: leave as is
        body = _UNUSED_ELEMENT.sub(b"", body)
    return body


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """One parsed feed body: its articles, how many entries it had, its title, and any leniency used."""

    articles: tuple[Article, ...]  # in feed order, one per distinct article id
    entries: int  # entries in the feed, including skipped and duplicate ones
    title: str
    warning: str | None  # set when the feed was read leniently (malformed XML, wrong encoding …)


def _to_utc(struct: Any) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None for a missing or impossible date."""
    if not struct:
        return None
    try:
        year, month, day, hour, minute, second = struct[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _field_text(value: str, content_type: str | None) -> str:
    """Plain text of one feed field, read as HTML unless the feed declared it plain text."""
    if content_type and "html" not in content_type and "xml" not in content_type:
        # Plain text: no tags to strip, but double-escaped entities ("&#8217;") are common in real titles.
        return clean_text(html.unescape(value) if "&" in value else value)
    return html_to_text(value)


def _entry_text(entry: Any) -> str:
    """Clean text of an entry: its first non-empty content, else its summary/description."""
    for content in dict.get(entry, "content") or ():
        text = _field_text(dict.get(content, "value") or "", dict.get(content, "type"))
        if text:
            return text
    detail = dict.get(entry, "summary_detail") or {}
    return _field_text(dict.get(entry, "summary") or "", dict.get(detail, "type"))


def _http_link(link: str, base_url: str) -> str | None:
    """The entry link made absolute; None unless it is http(s) (tag: URIs, javascript:, mailto: …)."""
    absolute = urljoin(base_url, link.strip()) if base_url else link.strip()
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _describe(exc: BaseException | None) -> str:
    """A person-readable reason for feedparser's bozo exception."""
    if exc is None:
        return "the feed is malformed"
    name = type(exc).__name__
    if name == "CharacterEncodingOverride":
        return f"the declared character encoding was wrong ({exc})"
    if name == "NonXMLContentType":
        return f"served with a non-XML content type ({exc})"
    if name == "CharacterEncodingUnknown":
        return f"the character encoding could not be determined ({exc})"
    if name == "SAXParseException":
        line = getattr(exc, "getLineNumber", lambda: None)()
        where = f" at line {line}" if line else ""
        return f"not well-formed XML{where}: {exc.getMessage() if hasattr(exc, 'getMessage') else exc}"
    return f"{name}: {exc}"


_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def _not_a_feed(body: bytes, parsed: Any) -> ParseError:
    """The ParseError for a body in which feedparser found no feed: say what it looks like instead."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        title = re.search(rb"<title[^>]*>(.*?)</title>", head, re.I | re.S)
        page = clean_line(html.unescape(title.group(1).decode("utf-8", "replace")))[:120] if title else ""
        return ParseError(f"got an HTML page, not a feed{f' ({page!r})' if page else ''}")
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        root = _XML_ROOT.search(stripped.split(b"?>", 1)[-1] if stripped.startswith(b"<?") else stripped)
        if parsed.get("bozo") and root is None:
            return ParseError(f"not a feed: {_describe(parsed.get('bozo_exception'))}")
        name = root.group(1).decode("ascii", "replace") if root else "?"
        return ParseError(f"XML without RSS, Atom or RDF feed structure (root element <{name}>)")
    if head.startswith(b"\x1f\x8b"):
        return ParseError("not a feed: the body is still gzip-compressed")
    return ParseError(f"not a feed: the body is not XML (starts with {body[:16]!r})")


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    outlet: str,
    base_url: str,
    strip_unused: bool = True,
) -> ParsedFeed:
    """Parse a fetched feed body into clean Articles; raises ParseError when the body is not a feed.

    `strip_unused=False` skips the `strip_unused_elements` speed-up (tests compare both ways).
    """
    if not body.strip():
        raise ParseError("not a feed: the response body is empty")
    response_headers = {key.lower(): value for key, value in headers.items()}
    # The body is already decoded by the fetcher.
    response_headers.pop("content-encoding", None)
    # No content-location for feedparser: given a base, it urljoins every element (≈ 25% slower, measured);
    # entry links are made absolute here instead.
    response_headers.pop("content-location", None)
    # A BytesIO, not the bytes: feedparser tries to open() a bytes argument as a file name first.
    parsed = feedparser.parse(
        io.BytesIO(strip_unused_elements(body) if strip_unused else body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = parsed.get("entries") or []
    if not entries:
        if not parsed.get("version"):
            raise _not_a_feed(body, parsed)
        if parsed.get("bozo") and type(parsed.get("bozo_exception")).__name__ == "SAXParseException":
            raise ParseError(f"broken feed with no entries: {_describe(parsed.get('bozo_exception'))}")

    # dict.get, not FeedParserDict.get: its key aliasing is slow and warns when it maps updated to
    # published; feedparser stores every field used here under these canonical keys.
    get = dict.get
    articles: dict[str, Article] = {}
    for entry in entries:
        link = get(entry, "link")
        # feedparser copies a permalink <guid> into link; such a guid is only a URL when it is absolute.
        relative_ok = not (get(entry, "guidislink") and link == get(entry, "id"))
        url = _http_link(link, base_url if relative_ok else "") if link else None
        title_detail = get(entry, "title_detail") or {}
        title = truncate(_field_text(get(entry, "title") or "", title_detail.get("type")), MAX_TITLE_CHARS)
        title = title.replace("\n", " ")
        text = truncate(_entry_text(entry), MAX_TEXT_CHARS)
        if url is None and not title and not text:
            continue
        guid = (get(entry, "id") or "").strip() or None
        canonical = canonical_url(url) if url else ""
        # Canonicalised once: url_article_id takes the canonical form as it is.
        ident = url_article_id(canonical) if canonical else article_id(url=None, guid=guid, title=title, text=text)
        if ident in articles:  # the same item twice in one feed (seen in real feeds): keep the first
            continue
        published = _to_utc(get(entry, "published_parsed")) or _to_utc(get(entry, "updated_parsed"))
        articles[ident] = Article(
            id=ident,
            outlet=outlet,
            url=canonical,
            title=title,
            text=text,
            published=published,
            guid=guid,
        )

    feed = parsed.get("feed") or {}
    feed_title = _field_text(feed.get("title") or "", (feed.get("title_detail") or {}).get("type"))
    warning = _describe(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    return ParsedFeed(
        articles=tuple(articles.values()),
        entries=len(entries),
        title=clean_line(feed_title)[:MAX_TITLE_CHARS],
        warning=warning,
    )
