"""The Telegram alert text: escaped, well-formed, within Telegram's limits, and stable."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.core.render_telegram import (
    MAX_ENTITIES,
    TEXT_LIMIT,
    clean_text,
    render_telegram,
    safe_href,
    shorten,
    utf16_len,
)
from bot.core.render_text import render_text
from bot.models import Event, Report
from tests.fake_botapi import parse_telegram_html

T0 = datetime(2017, 10, 26, 8, 12, tzinfo=UTC)


def report(i: int, *, outlet: str | None = None, url: str | None = None, minutes: int = 0) -> Report:
    """A report by outlet i, `minutes` after T0."""
    return Report(
        article_id=f"a{i}",
        outlet=outlet if outlet is not None else f"Outlet {i}",
        url=url if url is not None else f"https://news{i}.example.com/2017/10/26/story-{i}",
        title=f"Title {i}",
        published=T0 + timedelta(minutes=minutes),
        seen=T0 + timedelta(minutes=minutes + 1),
    )


def event(
    *,
    headline: str = "Xi and Kim meet in Beijing",
    summary: str = "The leaders met for talks on Monday.",
    reports: tuple[Report, ...] | None = None,
    terms: tuple[str, ...] = ("North Korea", "China"),
    event_id: str = "ev-1",
) -> Event:
    """An event with sensible defaults."""
    return Event(
        id=event_id,
        reports=reports if reports is not None else (report(1), report(2, minutes=5)),
        headline=headline,
        summary=summary,
        follows=None,
        matched_terms=terms,
        first_seen=T0,
        updated=T0 + timedelta(minutes=5),
    )


class _TagAudit(HTMLParser):
    """Collects every tag and attribute of an HTML fragment, and the text as a browser would show it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(html_text: str) -> _TagAudit:
    """Parse the alert and assert it only uses b/i/a/code, with http(s) hrefs and no other attributes."""
    parser = _TagAudit()
    parser.feed(html_text)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in {"b", "i", "a", "code"}, f"unexpected tag <{tag}>"
        if tag == "a":
            assert set(attrs) == {"href"}
            assert re.match(r"https?://", attrs["href"] or ""), attrs
        else:
            assert attrs == {}
    # Telegram's own (strict) parser must accept it too, within the length limit.
    parsed = parse_telegram_html(html_text)
    assert utf16_len(parsed.text) <= TEXT_LIMIT
    assert len(parsed.tags) <= MAX_ENTITIES
    return parser


HOSTILE = [
    "<script>alert(1)</script>",
    "Tom & Jerry &amp; friends &lt;b&gt;",
    "<b>unclosed bold <i>and italic",
    "</b></a></i> closing first",
    '"><a href="javascript:alert(1)">click</a>',
    "<a href='https://evil.example'>phish</a>",
    "&#0; &#xD800; &bogus; &",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_feed_text_is_escaped_everywhere(hostile: str) -> None:
    """Markup in a headline, summary, outlet name or term comes out as visible text, never as tags."""
    ev = event(
        headline=hostile,
        summary=f"Before {hostile} after",
        reports=(report(1, outlet=hostile), report(2)),
        terms=(hostile,),
    )
    rendered = render_telegram(ev)
    parsed = audit(rendered)
    shown = "".join(parsed.text)
    assert clean_text(hostile) in shown  # the text survives, literally
    # Our own markup only: one bold headline, one italic terms line, two outlet links.
    assert [t for t, _ in parsed.tags] == ["b", "i", "a", "a"]


def test_only_http_links_become_anchors() -> None:
    """javascript:, data:, relative and malformed URLs are shown as plain outlet names, not links."""
    bad = [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/relative/path",
        "https://exa mple.com/space",
        "https://",
        "ftp://example.com/file",
        "https://example.com/" + "x" * 5000,
    ]
    ev = event(reports=(*(report(i, outlet=f"Bad {i}", url=url) for i, url in enumerate(bad)), report(99)))
    rendered = render_telegram(ev)
    parsed = audit(rendered)
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert hrefs == ["https://news99.example.com/2017/10/26/story-99"]
    for i in range(len(bad)):
        assert f"• Bad {i}" in "".join(parsed.text)


def test_quotes_in_a_url_cannot_break_out_of_the_attribute() -> None:
    """A double quote in an article URL is escaped inside href, so the attribute keeps the whole URL."""
    url = 'https://example.com/a"onmouseover="alert(1)'
    rendered = render_telegram(event(reports=(report(1, url=url),)))
    parsed = audit(rendered)
    assert parsed.tags[-1] == ("a", {"href": url})


def test_a_100_kb_headline_and_summary_are_shortened_safely() -> None:
    """Huge titles are cut as plain text (ending in "…") before escaping, so no entity or tag is split."""
    headline = "&<>" * 35_000  # every character needs escaping
    summary = ("Kim Jong Un & Xi Jinping <met> " * 4000).strip()
    rendered = render_telegram(event(headline=headline, summary=summary))
    parsed = audit(rendered)
    bold = rendered[rendered.index("<b>") + 3 : rendered.index("</b>")]
    assert bold.endswith("…")
    assert "&<>" in "".join(parsed.text)
    assert not re.search(r"&[a-z]*…", rendered)  # no entity was cut short


def test_zero_width_bidi_and_control_characters_are_removed() -> None:
    """RTL overrides, zero-width spaces, controls and lone surrogates are dropped; emoji joiners stay."""
    headline = "Kim\u202e meets\u200b Xi\x1b[31m \ud800 👩\u200d👩\u200d👧 \u05e9\u05dc\u05d5\u05dd"
    rendered = render_telegram(event(headline=headline, reports=(report(1, outlet="Out\u202elet"),)))
    audit(rendered)
    for bad in ("\u202e", "\u200b", "\x1b", "\ud800"):
        assert bad not in rendered
    assert "👩\u200d👩\u200d👧" in rendered  # ZWJ sequences keep their joiners
    assert "\u05e9\u05dc\u05d5\u05dd" in rendered  # Hebrew text itself is fine
    rendered.encode("utf-8")  # no lone surrogate left to break the request


def test_200_outlets_fit_and_end_with_the_sources_pointer() -> None:
    """With 200 outlets the alert stays within 4096 and ends with "+N more — /sources ID"."""
    reports = tuple(report(i, minutes=i) for i in range(200))
    ev = event(reports=reports, event_id="evt-200")
    rendered = render_telegram(ev)
    parsed = audit(rendered)
    text = parse_telegram_html(rendered).text
    assert utf16_len(text) <= TEXT_LIMIT
    match = re.search(r"\n\+(\d+) more — /sources evt-200$", rendered)
    assert match, rendered[-200:]
    listed = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert len(listed) + int(match.group(1)) == 200
    # The listed outlets are the first to report, in order.
    assert listed == [r.url for r in reports[: len(listed)]]
    assert "Reported by 200 outlets:" in text


def test_200_outlets_with_long_names_urls_and_emoji_still_fit() -> None:
    """Astral characters count twice in UTF-16; long URLs cost entity space: both stay within limits."""
    reports = tuple(
        report(i, outlet="📰" * 80 + str(i), url=f"https://example.com/{'very-long-slug-' * 60}{i}") for i in range(200)
    )
    ev = event(headline="🚀" * 400, summary="🌏 " * 2000, reports=reports, terms=tuple("🔥" * 50 for _ in range(20)))
    rendered = render_telegram(ev)
    audit(rendered)
    assert utf16_len(parse_telegram_html(rendered).text) <= TEXT_LIMIT
    assert re.search(r"\+\d+ more — /sources ev-1$", rendered)


def test_output_is_stable_for_an_unchanged_event() -> None:
    """Rendering the same event (or an equal copy) twice gives identical text, so edits are not spurious."""
    ev = event(reports=tuple(report(i) for i in range(30)))
    copy = replace(ev, reports=tuple(replace(r) for r in ev.reports))
    assert render_telegram(ev) == render_telegram(ev) == render_telegram(copy)
    grown = replace(ev, reports=(*ev.reports, report(31)))
    assert render_telegram(grown) != render_telegram(ev)


def test_layout_of_a_small_event() -> None:
    """Headline in bold, summary, first report time in UTC, matched terms, then the linked outlets in order."""
    ev = event(
        reports=(
            report(1, outlet="Reuters", minutes=3),
            report(2, outlet="Yonhap", minutes=0),
            report(3, outlet="Reuters", minutes=9),  # a second article by an outlet already listed
        )
    )
    rendered = render_telegram(ev)
    audit(rendered)
    assert rendered == (
        "<b>Xi and Kim meet in Beijing</b>\n\n"
        "The leaders met for talks on Monday.\n\n"
        "First report: 26 Oct 2017 08:12 UTC\n"
        "Matched: <i>North Korea, China</i>\n\n"
        "Reported by 2 outlets:\n"
        '• <a href="https://news1.example.com/2017/10/26/story-1">Reuters</a>\n'
        '• <a href="https://news2.example.com/2017/10/26/story-2">Yonhap</a>'
    )


def test_first_report_is_shown_in_utc() -> None:
    """A publication time in another zone is converted to UTC."""
    kst = datetime(2017, 10, 26, 17, 12, tzinfo=UTC).astimezone(tz=None)
    ev = event(reports=(replace(report(1), published=kst),))
    assert "First report: 26 Oct 2017 17:12 UTC" in render_telegram(ev)


def test_many_terms_are_kept_short() -> None:
    """Only the first few matched terms are shown, with a count of the rest."""
    ev = event(terms=tuple(f"term{i}" for i in range(12)))
    rendered = render_telegram(ev)
    assert "Matched: <i>term0, term1, term2, term3, term4, term5 +6</i>" in rendered


def test_single_outlet_and_empty_texts() -> None:
    """One outlet reads "1 outlet"; an empty headline becomes "(untitled)" and an empty summary is left out."""
    rendered = render_telegram(event(headline="  \u200b ", summary="", reports=(report(1),), terms=()))
    audit(rendered)
    assert rendered.startswith("<b>(untitled)</b>\n\nFirst report:")
    assert "Reported by 1 outlet:" in rendered
    assert "Matched" not in rendered


def test_hostile_event_id_in_the_sources_pointer_is_escaped() -> None:
    """The event id in "+N more — /sources ID" is escaped too."""
    reports = tuple(report(i) for i in range(200))
    rendered = render_telegram(event(reports=reports, event_id="<b>x</b>&"))
    audit(rendered)
    assert rendered.endswith("/sources &lt;b&gt;x&lt;/b&gt;&amp;")


def test_shorten_cuts_at_a_word_boundary() -> None:
    """shorten keeps whole words when a space is near the end and always ends in "…"."""
    assert shorten("alpha beta gamma delta epsilon", 20) == "alpha beta gamma…"
    assert shorten("alpha beta gammadeltaepsilon", 20) == "alpha beta gammadel…"  # no space near the end
    assert shorten("short", 15) == "short"
    assert len(shorten("x" * 100, 10)) == 10


def test_safe_href() -> None:
    """Only absolute http(s) URLs with a host and no whitespace are linkable."""
    assert safe_href("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert safe_href("http://127.0.0.1:8080/feed") == "http://127.0.0.1:8080/feed"
    for url in ("javascript:alert(1)", "mailto:a@b.c", "https:///path", "https://a.com/\x00", ""):
        assert safe_href(url) is None


def test_render_text_has_the_same_content_in_plain_text() -> None:
    """The console rendering carries headline, summary, time, terms and every outlet with its URL, no markup."""
    reports = tuple(report(i, outlet=f"<Outlet {i}>") for i in range(60))
    text = render_text(event(reports=reports, headline="Kim & Xi <meet>"))
    assert text.startswith("Kim & Xi <meet>\n\nThe leaders met for talks on Monday.\n\nFirst report: 26 Oct 2017")
    assert "Matched: North Korea, China" in text
    assert "Reported by 60 outlets:" in text
    assert text.count("\n• ") == 60
    assert "• <Outlet 59>: https://news59.example.com/2017/10/26/story-59" in text
    assert "<b>" not in text


def test_render_text_strips_terminal_escapes() -> None:
    """A hostile feed cannot send terminal escape sequences to the operator's console."""
    text = render_text(event(headline="\x1b[2JWiped", reports=(report(1, url="https://x.example/\x1b]0;t\x07"),)))
    assert "\x1b" not in text and "\x07" not in text
