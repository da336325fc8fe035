"""Render one event as a Telegram HTML alert: escaped, within Telegram's limits, deterministic.

Pure: no clock, no I/O, no telegram import. Feed text is hostile until proven otherwise: every piece is
cleaned (control and bidi-override characters removed), shortened as plain text and only then escaped, so a
cut can never land inside a tag or an entity, and only http(s) links survive as <a href>.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.models import Event

# Telegram's limits and the margins we keep below them. Sources: the Bot API docs (4096 UTF-16 code units of
# text after entity parsing); tdlib/telegram-bot-api#165 (hyperlink-heavy messages fail with
# "Entities_too_long" at roughly 9,500 characters of entity data); rubenlagus/TelegramBots#854 and
# tdlib/telegram-bot-api#820 (formatting entities past the 100th are silently dropped).
TEXT_LIMIT = 4096  # what Telegram enforces, in UTF-16 code units after entity parsing
TEXT_BUDGET = 4000  # what we fill: a margin for Telegram trimming/normalising differently from us
MAX_ENTITIES = 90  # b + i + one <a> per listed outlet; Telegram ignores entities past 100
HTML_BUDGET = 8000  # whole HTML source incl. hrefs, UTF-16 units; under the ~9,500 "Entities_too_long" point
MAX_LISTED_OUTLETS = 40  # readability: past this a channel post is a wall of links; /sources has them all
MAX_URL_LENGTH = 1000  # a longer "article URL" is junk or an attack: shown as plain text, not linked

# How much of each piece of feed text an alert shows (code points, before escaping). A headline or summary
# longer than this is not news writing but a broken feed; the full text stays in the store.
HEADLINE_MAX = 300
SUMMARY_MAX = 1500
OUTLET_NAME_MAX = 60
TERMS_SHOWN = 6
TERM_MAX = 40

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Removed from feed text: C0/C1 controls (terminal escapes, NUL), lone surrogates (would break UTF-8
# encoding of the request), zero-width spaces and the BOM, and bidi embeddings/overrides/isolates plus
# LRM/RLM/ALM, which let a title reorder the text around it. ZWJ/ZWNJ stay here (emoji and Persian need
# them), but feed text reaches the renderer without them: bot.core.text removes them at ingest, for matching.
_INVISIBLE = frozenset("\u200b\u200e\u200f\u061c\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*(\n\s*)*")


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """Strip control, lone-surrogate, zero-width and bidi-override characters and collapse whitespace."""
    kept = []
    for ch in text:
        if ch in _INVISIBLE:
            continue
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f":
            kept.append("\n" if keep_newlines and ch in "\n\r" else " ")
        elif category in ("Cc", "Cs"):
            continue
        elif category in ("Zl", "Zp"):
            kept.append("\n" if keep_newlines else " ")
        else:
            kept.append(ch)
    joined = _SPACES.sub(" ", "".join(kept))
    if keep_newlines:
        # At most one blank line between paragraphs.
        joined = _NEWLINES.sub(lambda m: "\n\n" if m.group(0).count("\n") > 1 else "\n", joined)
    return joined.strip()


def shorten(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` code points, at a word boundary when one is near, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 0.8:  # a word boundary close to the end: cut there rather than mid-word
        cut = cut[:space]
    # Do not leave a dangling combining mark or joiner without what it joins.
    while cut and (unicodedata.combining(cut[-1]) or cut[-1] in "\u200c\u200d"):
        cut = cut[:-1]
    return cut.rstrip(" \n,;:-–—") + "…"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def format_utc(moment: datetime) -> str:
    """Format a time as "26 Oct 2017 08:12 UTC", independent of the process locale."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"{utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year} {utc.hour:02d}:{utc.minute:02d} UTC"


def safe_href(url: str) -> str | None:
    """Return `url` when it is a plain absolute http(s) URL fit to link to, else None."""
    if not url or len(url) > MAX_URL_LENGTH:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def outlet_links(event: Event) -> list[tuple[str, str]]:
    """(outlet name, article URL) for each distinct outlet, in the order they first reported."""
    first: dict[str, str] = {}
    for report in event.reports:
        first.setdefault(report.outlet, report.url)
    return list(first.items())


def display_outlet(name: str, url: str) -> str:
    """The outlet name as shown: cleaned and shortened, falling back to the URL's host when empty."""
    shown = shorten(clean_text(name), OUTLET_NAME_MAX)
    if shown:
        return shown
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return shorten(clean_text(host), OUTLET_NAME_MAX) or "(unnamed outlet)"


def display_headline(event: Event) -> str:
    """The headline as shown: cleaned, shortened, never empty."""
    return shorten(clean_text(event.headline), HEADLINE_MAX) or "(untitled)"


def display_summary(event: Event, limit: int = SUMMARY_MAX) -> str:
    """The summary as shown: cleaned (paragraph breaks kept) and shortened; may be empty."""
    return shorten(clean_text(event.summary, keep_newlines=True), limit)


def display_terms(event: Event) -> str:
    """The matched terms, short: the first few, each shortened, with "+N" for the rest; may be empty."""
    terms = [t for t in (shorten(clean_text(term), TERM_MAX) for term in event.matched_terms) if t]
    terms = list(dict.fromkeys(terms))
    shown = ", ".join(terms[:TERMS_SHOWN])
    if len(terms) > TERMS_SHOWN:
        shown += f" +{len(terms) - TERMS_SHOWN}"
    return shown


def outlets_heading(count: int) -> str:
    """ "Reported by 3 outlets:" (singular for one)."""
    return f"Reported by {count} outlet{'s' if count != 1 else ''}:"


def more_line(hidden: int, event_id: str) -> str:
    """The plain text of the line that stands for the outlets not listed."""
    return f"+{hidden} more — /sources {clean_text(event_id)}"


@dataclass(frozen=True, slots=True)
class _Piece:
    """A fragment of the message: its HTML, its text as Telegram will count it, and its entity costs."""

    html: str
    plain: str
    entities: int = 0


def esc(text: str) -> str:
    """Escape text for Telegram HTML (quotes too: the same helper serves attribute values)."""
    return html.escape(text, quote=True)


def _header(event: Event, summary_limit: int) -> list[_Piece]:
    """Headline, summary, first report time and matched terms, as pieces."""
    headline = display_headline(event)
    pieces = [_Piece(f"<b>{esc(headline)}</b>", headline, entities=1)]
    summary = display_summary(event, summary_limit)
    if summary:
        pieces.append(_Piece("\n\n" + esc(summary), "\n\n" + summary))
    stamp = f"First report: {format_utc(event.first_report)}"
    pieces.append(_Piece("\n\n" + esc(stamp), "\n\n" + stamp))
    terms = display_terms(event)
    if terms:
        pieces.append(_Piece(f"\nMatched: <i>{esc(terms)}</i>", f"\nMatched: {terms}", entities=1))
    return pieces


def _outlet_piece(name: str, url: str) -> _Piece:
    """One "• Outlet" line, linked to its article when the URL is a safe http(s) URL."""
    shown = display_outlet(name, url)
    href = safe_href(url)
    if href is None:
        return _Piece(f"\n• {esc(shown)}", f"\n• {shown}")
    return _Piece(f'\n• <a href="{esc(href)}">{esc(shown)}</a>', f"\n• {shown}", entities=1)


def _assemble(event: Event, summary_limit: int) -> tuple[str, bool]:
    """Build the message with as many outlets as fit; False when not even the header and "+N" fit."""
    pieces = _header(event, summary_limit)
    outlets = outlet_links(event)
    heading = "\n\n" + outlets_heading(len(outlets))
    pieces.append(_Piece(esc(heading), heading))
    used = sum(utf16_len(p.plain) for p in pieces)
    source = sum(utf16_len(p.html) for p in pieces)
    entities = sum(p.entities for p in pieces)
    # Room kept for the "+N more" line in its longest possible form (escaping can only lengthen the
    # event id in the HTML source, so reserve its escaped length there).
    reserve_text = utf16_len("\n" + more_line(len(outlets), event.id))
    reserve_html = utf16_len(esc("\n" + more_line(len(outlets), event.id)))
    listed: list[_Piece] = []
    for index, (name, url) in enumerate(outlets):
        piece = _outlet_piece(name, url)
        last = index == len(outlets) - 1
        if (
            index >= MAX_LISTED_OUTLETS
            or used + utf16_len(piece.plain) > TEXT_BUDGET - (0 if last else reserve_text)
            or source + utf16_len(piece.html) > HTML_BUDGET - (0 if last else reserve_html)
            or entities + piece.entities > MAX_ENTITIES
        ):
            break
        listed.append(piece)
        used += utf16_len(piece.plain)
        source += utf16_len(piece.html)
        entities += piece.entities
    pieces.extend(listed)
    hidden = len(outlets) - len(listed)
    if hidden:
        line = "\n" + more_line(hidden, event.id)
        pieces.append(_Piece(esc(line), line))
        used += utf16_len(line)
        source += utf16_len(esc(line))
    return "".join(p.html for p in pieces), used <= TEXT_BUDGET and source <= HTML_BUDGET


def render_telegram(event: Event) -> str:
    """Render `event` as Telegram HTML (parse_mode HTML) within Telegram's length and entity limits."""
    summary_limit = SUMMARY_MAX
    while True:
        text, fits = _assemble(event, summary_limit)
        if fits or summary_limit == 0:
            return text
        # Reached when escaping (an "&" becomes "&amp;") or astral characters make the header outgrow the
        # budgets: halve the summary until it fits.
        summary_limit //= 2
