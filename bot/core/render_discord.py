"""The Discord webhook payload for one event: one embed, feed text escaped, every Discord limit respected."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.render_telegram import outlet_links, utf16_len
from bot.models import Event

# Discord's documented limits (developer docs, "Embed Limits" and "Execute Webhook"). Lengths are counted in
# UTF-16 code units (see utf16_len): never fewer than code points, so a payload that fits here fits Discord.
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
EMBED_TOTAL_MAX = 6000

# Our own tighter budgets, chosen so the sum can never pass EMBED_TOTAL_MAX (256 + 4096 + 400 + 64 + small
# fields < 6000) and the summary keeps most of the description.
OUTLETS_BUDGET = 1600  # the "Outlets" block at the end of the description
OUTLET_NAME_MAX = 80  # one outlet's name in that block
LINK_URL_MAX = 512  # a longer URL is shown as plain text: one link must not eat the outlets block
EMBED_URL_MAX = 2000  # the title link; Discord rejects some very long URLs as "not well formed"
FOOTER_BUDGET = 400

COLOR_NEW = 0xC0392B
COLOR_FOLLOW_UP = 0xE67E22

ELLIPSIS = "…"
ZWSP = "\u200b"

# Every character Discord markdown gives a meaning to (bold, italics, underline, strike, code, spoiler,
# quote, header, list, masked link), plus "<" so <@id>, <#channel>, <t:…> and <:emoji:id> render as text.
# Discord drops a backslash before any ASCII punctuation, so escaping more than needed shows nothing extra.
_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<])")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Kept as they are in URLs we link to; everything else (space, quotes, ( ) < > [ ] ` { } | \ ^, non-ASCII)
# is percent-encoded so a feed's URL cannot close the markdown link early or start a new one. The host part
# keeps [ ] for IPv6 literals.
_URL_SAFE = "-._~:/?#@!$&'*+,;=%"
_HOST_SAFE = _URL_SAFE + "[]"


def render_discord(event: Event, *, parent_link: str | None = None) -> dict[str, Any]:
    """Build the webhook JSON for `event`; with `parent_link` the message content links the parent alert."""
    reports = event.reports
    title_text = event.headline or (reports[0].title if reports else "") or "Untitled event"
    embed: dict[str, Any] = {
        "type": "rich",
        "title": _clip(escape_markdown(_one_line(title_text)), TITLE_MAX),
        "color": COLOR_FOLLOW_UP if event.follows else COLOR_NEW,
    }
    first_url = safe_url(reports[0].url, EMBED_URL_MAX) if reports else None
    if first_url:
        embed["url"] = first_url
    if event.follows:
        embed["author"] = {"name": "Follow-up to an earlier alert"}
    description = _description(event)
    if description:  # Discord rejects an empty description; an absent one is fine
        embed["description"] = description

    first = _as_utc(event.first_report)
    embed["timestamp"] = first.isoformat()
    unix = int(first.timestamp())
    # <t:…> renders in each reader's own time zone; the UTC text keeps it readable in notifications.
    embed["fields"] = [
        {
            "name": "First report",
            "value": f"<t:{unix}:f> (<t:{unix}:R>)\n{first:%Y-%m-%d %H:%M} UTC",
            "inline": True,
        },
        {"name": "Reports", "value": str(len(reports)), "inline": True},
    ]
    embed["footer"] = {"text": _footer(event)}
    _fit_total(embed)

    payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    link = safe_url(parent_link, CONTENT_MAX - 64) if parent_link else None
    if link:
        # The link lives in `content`, not the embed: edits send only `embeds`, and Discord leaves
        # omitted fields untouched, so the link survives every edit without the sink remembering it.
        payload["content"] = f"↪ Follow-up to {link}"
    return payload


def escape_markdown(text: str) -> str:
    """Make feed text show literally in Discord: markdown escaped, mentions broken with a zero-width space."""
    return _MARKDOWN.sub(r"\\\1", neutralise_mentions(text))


def neutralise_mentions(text: str) -> str:
    """Put a zero-width space after every "@" (and in "<#") so no @everyone, @here, <@id> or <#id> survives."""
    return text.replace("@", "@" + ZWSP).replace("<#", "<" + ZWSP + "#")


def safe_url(url: str | None, max_len: int = LINK_URL_MAX) -> str | None:
    """Return `url` fit for a markdown link target (http/https, ( ) < > and spaces encoded), else None."""
    if not url:
        return None
    url = url.strip()
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in url):
        return None  # control, format or odd space characters: not a URL a feed should give us
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    cleaned = f"{parts.scheme.lower()}://{quote(netloc, safe=_HOST_SAFE)}{quote(rest, safe=_URL_SAFE)}"
    return cleaned if utf16_len(cleaned) <= max_len else None


def _description(event: Event) -> str:
    """Summary first, then every outlet as a link in the order it reported, shortened to fit."""
    outlets = _outlets_block(event)
    room = DESCRIPTION_MAX - (utf16_len(outlets) + 2 if outlets else 0)
    summary = _clip(escape_markdown(_paragraphs(event.summary)), room)
    return "\n\n".join(part for part in (summary, outlets) if part)


def _outlets_block(event: Event) -> str:
    """`**Outlets (N):** [A](url) · [B](url) … +K more`, never longer than OUTLETS_BUDGET."""
    first_by_outlet = outlet_links(event)
    if not first_by_outlet:
        return ""
    total = len(first_by_outlet)
    head = f"**Outlets ({total}):** "
    items = []
    for outlet, url in first_by_outlet:
        name = _clip(escape_markdown(_one_line(outlet)) or "?", OUTLET_NAME_MAX)
        link = safe_url(url)
        items.append(f"[{name}]({link})" if link else name)

    shown: list[str] = []
    used = utf16_len(head)
    for i, item in enumerate(items):
        remaining_after = total - i - 1
        # Keep room for the "+K more" tail unless this is the last item.
        tail = utf16_len(f" · +{remaining_after} more") if remaining_after else 0
        cost = utf16_len(item) + (3 if shown else 0)
        if used + cost + tail > OUTLETS_BUDGET:
            break
        shown.append(item)
        used += cost
    text = head + " · ".join(shown)
    hidden = total - len(shown)
    if hidden:
        text += f" · +{hidden} more" if shown else f"+{hidden} more"
    return text


def _footer(event: Event) -> str:
    """Matched terms as plain text (footers render no markdown, so only mentions are neutralised)."""
    terms = ", ".join(_one_line(t) for t in event.matched_terms if t.strip())
    text = f"Matched: {terms}" if terms else "Wirewatch"
    return _clip(neutralise_mentions(text), FOOTER_BUDGET)


def _fit_total(embed: dict[str, Any]) -> None:
    """Shorten the description if the embed would pass Discord's 6,000-character total (a safety net)."""
    over = _embed_size(embed) - EMBED_TOTAL_MAX
    if over > 0 and "description" in embed:
        desc = embed["description"]
        embed["description"] = _clip(desc, max(utf16_len(desc) - over, 1))


def _embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the total: title, description, field names/values, footer, author."""
    size = utf16_len(embed.get("title", "")) + utf16_len(embed.get("description", ""))
    size += sum(utf16_len(f["name"]) + utf16_len(f["value"]) for f in embed.get("fields", ()))
    size += utf16_len(embed.get("footer", {}).get("text", ""))
    size += utf16_len(embed.get("author", {}).get("name", ""))
    return size


def _one_line(text: str) -> str:
    """Control characters dropped, all whitespace collapsed to single spaces."""
    return " ".join(_strip_controls(text).split())


def _paragraphs(text: str) -> str:
    """Control characters dropped, spaces collapsed, at most one blank line between paragraphs."""
    lines = [_SPACES.sub(" ", line).strip() for line in _strip_controls(text).replace("\r", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _strip_controls(text: str) -> str:
    """Drop control and format characters (NUL, bidi overrides, stray ZWSPs) but keep newlines and tabs."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def _clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 units with an ellipsis, never ending in a lone escape backslash."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - 1  # the ellipsis
    out: list[str] = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > budget:
            break
        out.append(ch)
        used += width
    cut = "".join(out)
    # An odd run of trailing backslashes is an escape cut from its character: drop it.
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def _as_utc(moment: datetime) -> datetime:
    """The datetime in UTC; a naive one (which models forbid) is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
