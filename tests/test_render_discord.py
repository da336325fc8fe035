"""The Discord payload: escaped feed text, no pings, no link breakout, every limit held, deterministic."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.render_discord import escape_markdown, render_discord, safe_url
from bot.models import Event, Report
from tests.fake_discord import embed_problems

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
MENTION = re.compile(r"<(@[!&]?|#)\d")  # what Discord would read as a user, role or channel mention
SPECIALS = set("\\*_~`|>#-[]()<")
# A markdown link as Discord reads it: bracketed text (escapes allowed) then a parenthesised target.
LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)]*)\)")


def report(n: int, outlet: str = "", url: str = "", published: datetime | None = T0) -> Report:
    """A report by outlet `n` (or the given outlet and URL)."""
    return Report(
        article_id=f"a{n}",
        outlet=outlet or f"Outlet {n}",
        url=url or f"https://news{n}.example/story/{n}",
        title=f"Story {n}",
        published=published,
        seen=T0 + timedelta(minutes=n),
    )


def event(*reports: Report, headline: str = "Kim meets Xi in Beijing", summary: str = "", **kw: Any) -> Event:
    """An event over `reports` (one default report when none are given)."""
    reports = reports or (report(1),)
    return Event(
        id=kw.get("id", "e1"),
        reports=reports,
        headline=headline,
        summary=summary or "Leaders of North Korea and China met on Tuesday.",
        follows=kw.get("follows"),
        matched_terms=kw.get("matched_terms", ("Kim Jong Un", "Xi Jinping")),
        first_seen=T0,
        updated=T0 + timedelta(hours=1),
    )


def u16(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def assert_within_limits(payload: dict[str, Any]) -> None:
    """Every Discord limit holds, counted both in code points (the fake) and in UTF-16 units."""
    assert embed_problems(payload) == []
    assert u16(payload.get("content", "")) <= 2000
    total = 0
    for embed in payload["embeds"]:
        parts = {
            "title": (embed.get("title", ""), 256),
            "description": (embed.get("description", ""), 4096),
            "footer": (embed.get("footer", {}).get("text", ""), 2048),
            "author": (embed.get("author", {}).get("name", ""), 256),
        }
        for name, (text, limit) in parts.items():
            assert u16(text) <= limit, name
            total += u16(text)
        assert len(embed.get("fields", [])) <= 25
        for f in embed.get("fields", []):
            assert u16(f["name"]) <= 256 and u16(f["value"]) <= 1024
            total += u16(f["name"]) + u16(f["value"])
    assert total <= 6000
    assert payload["allowed_mentions"] == {"parse": []}


def unescaped(text: str) -> list[str]:
    """Markdown characters in `text` not preceded by an escaping backslash."""
    found = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in SPECIALS:
            found.append(text[i])
        i += 1
    return found


def strings(value: Any) -> list[str]:
    """Every string anywhere in a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def summary_part(payload: dict[str, Any]) -> str:
    """The description before the outlets block."""
    return payload["embeds"][0]["description"].split("\n\n**Outlets")[0]


def outlet_links(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, url) of every markdown link in the outlets block."""
    block = payload["embeds"][0]["description"].split("**Outlets", 1)[1]
    return LINK.findall(block)


def test_plain_event_renders_title_link_summary_outlets_time_and_terms() -> None:
    """A normal event: titled embed linked to the first report, outlets in reported order, time and terms."""
    ev = event(report(1, "Yonhap"), report(2, "Reuters"), report(3, "Yonhap"), report(4, "NK News"))
    payload = render_discord(ev)
    embed = payload["embeds"][0]
    assert embed["title"] == "Kim meets Xi in Beijing"
    assert embed["url"] == "https://news1.example/story/1"
    assert summary_part(payload) == "Leaders of North Korea and China met on Tuesday."
    assert outlet_links(payload) == [
        ("Yonhap", "https://news1.example/story/1"),
        ("Reuters", "https://news2.example/story/2"),
        ("NK News", "https://news4.example/story/4"),
    ]
    assert "**Outlets (3):**" in embed["description"]
    assert embed["timestamp"] == "2026-03-01T08:30:00+00:00"
    first = embed["fields"][0]
    assert first["name"] == "First report"
    assert f"<t:{int(T0.timestamp())}:f>" in first["value"] and "2026-03-01 08:30 UTC" in first["value"]
    assert embed["footer"]["text"] == "Matched: Kim Jong Un, Xi Jinping"
    assert payload["allowed_mentions"] == {"parse": []}
    assert "content" not in payload and "author" not in embed
    assert_within_limits(payload)


def test_first_report_falls_back_to_first_seen_without_dates() -> None:
    """With no publication dates the first-report time is when Wirewatch first saw the event."""
    payload = render_discord(event(report(1, published=None)))
    assert payload["embeds"][0]["timestamp"] == T0.isoformat()


def test_follow_up_links_parent_in_content_and_marks_embed() -> None:
    """A follow-up carries the parent's message link in `content`; the embed says it is a follow-up."""
    link = "https://discord.com/channels/1/2/3"
    payload = render_discord(event(follows="e0"), parent_link=link)
    assert payload["content"] == f"↪ Follow-up to {link}"
    assert payload["embeds"][0]["author"]["name"] == "Follow-up to an earlier alert"
    assert "content" not in render_discord(event(follows="e0"))
    assert "content" not in render_discord(event(follows="e0"), parent_link="javascript:alert(1)")
    assert_within_limits(payload)


def test_mentions_never_survive_anywhere() -> None:
    """@everyone, @here, user and role mentions in any feed text are neutralised everywhere in the payload."""
    hostile = "@everyone @here <@123456789> <@!42> <@&987> <#555> ping"
    ev = event(
        report(1, outlet=hostile, url="https://x.example/@everyone"),
        headline=hostile,
        summary=hostile,
        matched_terms=(hostile,),
    )
    payload = render_discord(ev)
    for value in strings(payload):
        if value.startswith("https://"):
            continue  # the embed's URL: never read for mentions
        text = re.sub(r"\]\([^)]*\)", "]", value)  # link targets are not read for mentions either
        assert "@everyone" not in text and "@here" not in text, text
        assert not MENTION.search(text), text
    assert payload["allowed_mentions"] == {"parse": []}
    assert_within_limits(payload)


def test_markdown_in_feed_text_is_escaped() -> None:
    """Bold, italics, strike, code, spoilers, quotes, headers, lists and masked links show literally."""
    nasty = "**bold** __u__ ~~s~~ `code` ```block``` ||spoiler|| \\ [click](https://evil.example)"
    ev = event(
        report(1, outlet="**Big** [Outlet](https://evil.example)"),
        headline=nasty,
        summary=f"> quote\n# header\n- item\n{nasty}",
    )
    payload = render_discord(ev)
    embed = payload["embeds"][0]
    assert unescaped(embed["title"]) == []
    assert unescaped(summary_part(payload)) == []
    assert outlet_links(payload) == [
        (r"\*\*Big\*\* \[Outlet\]\(https://evil.example\)", "https://news1.example/story/1")
    ]
    assert escape_markdown("a*b") == r"a\*b"


def test_link_urls_cannot_break_out_of_the_markdown_link() -> None:
    """Only http(s) URLs are linked, and ( ) < > spaces are percent-encoded so the link cannot be closed early."""
    ev = event(
        report(1, "Evil", "https://evil.example/a) [pwn](https://phish.example"),
        report(2, "Script", "javascript:alert(1)"),
        report(3, "Angle", "https://ex.example/<b>x</b> y"),
        report(4, "Data", "data:text/html,<script>"),
        report(5, "Ctl", "https://ex.example/\x00\u202e"),
    )
    payload = render_discord(ev)
    links = outlet_links(payload)
    assert [text for text, _ in links] == ["Evil", "Angle"]
    for _, url in links:
        assert url.startswith("https://")
        assert not set(url) & set("()<> \n")
    assert links[0][1] == "https://evil.example/a%29%20%5Bpwn%5D%28https://phish.example"
    # The refused URLs still name their outlet, as plain text.
    block = payload["embeds"][0]["description"].split("**Outlets", 1)[1]
    assert "Script" in block and "Data" in block and "Ctl" in block
    assert render_discord(event(report(1, url="javascript:alert(1)")))["embeds"][0].get("url") is None


def test_safe_url_rules() -> None:
    """safe_url keeps http(s), encodes the dangerous characters, converts IDN hosts, refuses the rest."""
    assert safe_url("HTTPS://Example.com/a b(c)<d>") == "https://Example.com/a%20b%28c%29%3Cd%3E"
    assert safe_url("https://bücher.example/ü") == "https://xn--bcher-kva.example/%C3%BC"
    assert safe_url("https://ex.example/already%20encoded?q=1&r=2#frag") == (
        "https://ex.example/already%20encoded?q=1&r=2#frag"
    )
    for bad in ("javascript:alert(1)", "ftp://ex.example/", "https:///nohost", "//ex.example", "", None):
        assert safe_url(bad) is None
    assert safe_url("https://ex.example/" + "a" * 600) is None  # too long to spend the outlets block on


def test_huge_text_everywhere_keeps_every_limit() -> None:
    """100 KB titles, summaries, outlet names, URLs and terms still give a payload Discord accepts."""
    big = "North Korea " * 9000  # ≈ 108 KB
    ev = event(
        report(1, outlet=big, url="https://ex.example/" + "p" * 100_000),
        report(2, outlet="Short"),
        headline=big,
        summary=big,
        matched_terms=tuple(big[:5000] for _ in range(40)),
        follows="e0",
    )
    payload = render_discord(ev, parent_link="https://discord.com/channels/1/2/" + "9" * 5000)
    assert_within_limits(payload)
    embed = payload["embeds"][0]
    assert embed["title"].endswith("…") and u16(embed["title"]) <= 256
    assert "url" not in embed  # a 100 KB URL is not a link Discord accepts
    assert "content" not in payload  # nor is a 5 KB parent link
    assert "Short" in embed["description"]


def test_astral_characters_are_counted_as_discord_counts_them() -> None:
    """Emoji take two UTF-16 units; limits hold when text is nothing but emoji."""
    emoji = "🇰🇵🇨🇳" * 30_000
    payload = render_discord(event(report(1, outlet=emoji), headline=emoji, summary=emoji, matched_terms=(emoji,)))
    assert_within_limits(payload)


def test_two_hundred_outlets_are_shortened_with_more_count() -> None:
    """200 outlets: as many links as fit, in reported order, then "+N more" counting the rest."""
    reports = tuple(report(n, url=f"https://outlet{n}.example/{'x' * 150}/{n}") for n in range(200))
    payload = render_discord(event(*reports, summary="word " * 2000))
    assert_within_limits(payload)
    description = payload["embeds"][0]["description"]
    links = outlet_links(payload)
    assert 3 <= len(links) < 200
    assert [text for text, _ in links] == [f"Outlet {n}" for n in range(len(links))]
    assert description.endswith(f" · +{200 - len(links)} more")
    assert "**Outlets (200):**" in description
    assert payload["embeds"][0]["fields"][1] == {"name": "Reports", "value": "200", "inline": True}


def test_clipping_never_leaves_a_dangling_escape() -> None:
    """A title of backslashes and stars is cut without leaving a backslash that would escape the ellipsis."""
    payload = render_discord(event(headline="\\*" * 1000))
    title = payload["embeds"][0]["title"]
    assert title.endswith("…")
    body = title[:-1]
    assert (len(body) - len(body.rstrip("\\"))) % 2 == 0
    assert unescaped(body) == []


def test_control_characters_and_blank_lines_are_cleaned() -> None:
    """NUL and bidi overrides are dropped, whitespace collapsed, at most one blank line kept."""
    payload = render_discord(event(headline="A\x00B\u202eC\n\tD", summary="One.\r\n\r\n\r\n\r\nTwo\x07."))
    assert payload["embeds"][0]["title"] == "ABC D"
    assert summary_part(payload) == "One.\n\nTwo."


def test_rendering_is_deterministic() -> None:
    """The same event renders to byte-identical JSON, and an equal copy does too."""
    reports = tuple(report(n) for n in range(30))
    a = render_discord(event(*reports, follows="e0"), parent_link="https://discord.com/channels/1/2/3")
    b = render_discord(event(*reports, follows="e0"), parent_link="https://discord.com/channels/1/2/3")
    assert json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)
