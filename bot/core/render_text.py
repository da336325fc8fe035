"""Render one event as plain text for the console sink: the same content as the Telegram alert."""

from __future__ import annotations

from bot.core.render_telegram import (
    clean_text,
    display_headline,
    display_outlet,
    display_summary,
    display_terms,
    format_utc,
    outlets_heading,
)
from bot.core.render_telegram import outlet_links as _outlet_links
from bot.models import Event


def render_text(event: Event) -> str:
    """Render `event` as plain text: headline, summary, first report, terms and every outlet with its URL."""
    lines = [display_headline(event)]
    summary = display_summary(event)
    if summary:
        lines += ["", summary]
    lines += ["", f"First report: {format_utc(event.first_report)}"]
    terms = display_terms(event)
    if terms:
        lines.append(f"Matched: {terms}")
    if event.follows:
        lines.append(f"Follows: {clean_text(event.follows)}")
    outlets = _outlet_links(event)
    lines += ["", outlets_heading(len(outlets))]
    # The console has no length limit, so every outlet is listed; the URL is cleaned so that a hostile
    # feed cannot smuggle terminal escape sequences into the operator's terminal.
    lines += [f"• {display_outlet(name, url)}: {clean_text(url)}" for name, url in outlets]
    return "\n".join(lines)
