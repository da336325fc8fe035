"""Dates and quantities a news text states outright: what tells two lookalike happenings apart.

Two reports of one kind of event (a quake, a DUI arrest, a record contract) share nearly every word; what
differs is stated in figures: a magnitude of 5.6 or 6.1, five dead or fifty, $160 million or $200 million,
the date it happened. Each finder below starts from a literal cue the regex engine scans for quickly (a
year's digits, a currency sign, a key word) and reads the number or month from a short window before it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from contextlib import suppress
from dataclasses import dataclass
from datetime import date

from bot.core.fingerprint import stem
from bot.core.summarize import boilerplate_kind
from bot.core.tuning import DEFAULT_PARAMS

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
# A month name, full or abbreviated ("Sept."), as the first group.
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# A year; _dates skips those glued to a longer number ("12,2009", "$2010", "2009.5") by looking at the
# characters around the match (a lookbehind here would cost the scan its fast literal start: 4× slower).
_YEAR = re.compile(r"(?:19|20)\d\d\b")
_GLUE_BEFORE = frozenset("0123456789.,$")
_DECIMAL_AFTER = re.compile(r"[.,]\d")
# What precedes a year in "March 4, 2009", "4 March 2009" and "16th of December 2008" (matched at the end).
_MONTH_DAY_BEFORE = re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+$")
_DAY_MONTH_BEFORE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+$")

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
            *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"),
            *("nineteen", "twenty"),
        ]
    )
}
# A number: digits with thousands groups and decimals ("2,500", "6.1"), or a small number word. Not glued
# to what precedes it ("twenty-five", "route-66"), and no space inside: "May 3, 12 people" is a date and a count.
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = r"(?<![\w.,-])(" + _DIGITS + "|" + "|".join(_NUMBER_WORDS) + r")\b"
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "m": 1e6, "bn": 1e9}
_MONEY_AFTER_SIGN = re.compile(r"[$€£]\s?(" + _DIGITS + r")\s*(thousand|million|billion|trillion|bn|m)?\b")
# One pattern per word: each starts with its literal, which the engine finds fast; an alternation does not.
_CURRENCY_WORDS = {w: re.compile(w + r"\b") for w in ("dollars", "euros", "pounds")}
_MONEY_BEFORE_WORD = re.compile(_NUMBER + r"\s*(thousand|million|billion|trillion)?\s*$")
_MAGNITUDE_AFTER = re.compile(r"magnitude(?:\s+of)?\s+(\d(?:\.\s?\d)?)\b")
_MAGNITUDE_BEFORE = re.compile(r"(?<![\d.])(\d(?:\.\s?\d)?)\s*-?\s*$")
_CASUALTY_WORDS = {w: re.compile(w + r"\b") for w in ("dead", "killed", "died", "injured", "hurt", "wounded")}
_COUNT_BEFORE_CASUALTY = re.compile(_NUMBER + r"\s+(?:(?:people|persons|were|have|been|are|others)\s+){0,3}$")
_CASUALTY_VERBS = {
    w: re.compile(w + r"\s+(?:at\s+least\s+)?" + _NUMBER) for w in ("killing", "injuring", "wounding", "hurting")
}
_DEATH_WORDS = frozenset({"dead", "killed", "died", "killing"})


@dataclass(frozen=True, slots=True)
class Anchors:
    """Calendar dates (as proleptic ordinals) and quantities by kind that one text states."""

    dates: frozenset[int] = frozenset()
    quantities: frozenset[tuple[str, float]] = frozenset()


NO_ANCHORS = Anchors()
# Only the start of a text is read (the happening's own date and figures are in its first paragraphs), and at
# most MAX_FOUND dates and as many quantities are kept: a 1 MB timeline costs what a long article does.
# Both come from tuning.py, where every tuned number lives: the fingerprint's text cap and the event's cap.
SCAN_CHARS = DEFAULT_PARAMS.max_chars
MAX_FOUND = DEFAULT_PARAMS.max_event_anchors
# Furniture lines whose dates say when the page was made, not when the happening was.
_PAGE_DATE_LINES = frozenset({"timestamp", "print note"})

# Each quantity's key word with the content term it becomes (fingerprint.stem: "dollars" → "dollar").
_CUE_TERMS = {w: stem(w) for w in (*_CURRENCY_WORDS, "magnitude", *_CASUALTY_WORDS, *_CASUALTY_VERBS)}


def find_anchors(text: str, terms: Container[str] | None = None) -> Anchors:
    """The full dates and the money, magnitude, dead and hurt figures a text states.

    terms: the text's content terms (fingerprint terms), when at hand: a quantity is looked for only
    where its key word is among them, a dictionary look-up instead of a scan of the whole text. Without
    them every pattern is tried.
    """
    if not text:
        return NO_ANCHORS
    text = text[:SCAN_CHARS]
    dates = _dates(text)
    cues = {word for word, term in _CUE_TERMS.items() if terms is None or term in terms}
    if "$" in text or "€" in text or "£" in text:
        cues.add("$")
    quantities = _quantities(text.lower(), cues) if cues else set()
    if not dates and not quantities:
        return NO_ANCHORS
    return Anchors(frozenset(dates), frozenset(quantities))


def _year_matches(text: str) -> list[re.Match[str]]:
    """_YEAR's matches in the text, in order: what finditer gives, found from the places "19" and "20" occur.

    The regex cannot skip ahead to a literal, so finditer tries it at every character (≈ 13.5 µs on a
    2,100-character article); str.find jumps between the few places a year can start. Two matches never
    overlap (each is four digits and a word boundary, so another inside it would find a digit where the
    first needs the boundary), so matching at each such place finds the same ones.
    """
    starts: list[int] = []
    for prefix in ("19", "20"):
        at = text.find(prefix)
        while at >= 0:
            starts.append(at)
            at = text.find(prefix, at + 1)
    match = _YEAR.match
    return [m for at in sorted(starts) if (m := match(text, at)) is not None]


def _dates(text: str) -> set[int]:
    """Dates written with day, month name and year (at most MAX_FOUND), page-date lines left out."""
    out: set[int] = set()
    page_date_line: dict[int, bool] = {}  # line start → whether it is a PUBLISHED line or a print note
    # Digits are the same in either case: the scan runs on the text, and only a year's short window
    # before it is lower-cased.
    for y in _year_matches(text):
        start = y.start()
        if (start and text[start - 1] in _GLUE_BEFORE) or _DECIMAL_AFTER.match(text, y.end()):
            continue
        before = text[max(0, start - 24) : start].lower()
        year = int(y.group())
        if m := _MONTH_DAY_BEFORE.search(before):
            month, day = _MONTHS[m.group(1)[:3]], int(m.group(2))
        elif m := _DAY_MONTH_BEFORE.search(before):
            month, day = _MONTHS[m.group(2)[:3]], int(m.group(1))
        else:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        skip = page_date_line.get(line_start)
        if skip is None:
            line_end = text.find("\n", start)
            line = text[line_start : line_end if line_end >= 0 else len(text)]
            skip = page_date_line[line_start] = boilerplate_kind(line) in _PAGE_DATE_LINES
        if skip:
            continue
        with suppress(ValueError):  # "February 31" is no date
            out.add(date(year, month, day).toordinal())
            if len(out) >= MAX_FOUND:
                break
    return out


def _number(token: str) -> float | None:
    """A number as written ("2,500", "6.1", "6. 1", "five"); None when it is not one."""
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        value = float(token.replace(" ", "").replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # a 400-digit "amount" is no figure


def _count(low: str, m: re.Match[str]) -> float | None:
    """The count a match's first group states, unless it is a year or a day of a date ("March 4 killed")."""
    token = m.group(1)
    value = _number(token)
    if value is None:
        return None
    if len(token) == 4 and 1900 <= value <= 2099:
        return None  # "an attack in 2008 killed three"
    before = low[max(0, m.start(1) - 12) : m.start(1)].split()
    if before and before[-1].rstrip(".,")[:3] in _MONTHS:
        return None  # the day of a date
    return value


def _quantities(low: str, cues: set[str]) -> set[tuple[str, float]]:
    """Money amounts (rounded to thousands), quake magnitudes and counts of dead or hurt.

    cues: the key words (and "$" for any currency sign) the text holds; only their patterns run. At most
    MAX_FOUND are kept: the smallest, so which ones does not depend on set order.
    """
    out: set[tuple[str, float]] = set()
    if "$" in cues:
        for m in _MONEY_AFTER_SIGN.finditer(low):
            if (v := _number(m.group(1))) is not None:
                out.add(("money", round(v * _SCALES.get(m.group(2) or "", 1.0), -3)))
    for word, rx in _CURRENCY_WORDS.items():
        if word not in cues:
            continue
        for m in rx.finditer(low):
            b = _MONEY_BEFORE_WORD.search(low, max(0, m.start() - 32), m.start())
            if b and (v := _number(b.group(1))) is not None:
                out.add(("money", round(v * _SCALES.get(b.group(2) or "", 1.0), -3)))
    if "magnitude" in cues:
        at = low.find("magnitude")
        while at >= 0:
            after = _MAGNITUDE_AFTER.match(low, at)
            before = _MAGNITUDE_BEFORE.search(low, max(0, at - 10), at)
            for found in (after, before):
                if found is not None and (v := _number(found.group(1))) is not None:
                    out.add(("magnitude", v))
            at = low.find("magnitude", at + 9)
    for word, rx in _CASUALTY_WORDS.items():
        if word not in cues:
            continue
        kind = "dead" if word in _DEATH_WORDS else "hurt"
        for m in rx.finditer(low):
            b = _COUNT_BEFORE_CASUALTY.search(low, max(0, m.start() - 48), m.start())
            if b and (v := _count(low, b)) is not None:
                out.add((kind, v))
    for word, rx in _CASUALTY_VERBS.items():
        if word not in cues:
            continue
        kind = "dead" if word in _DEATH_WORDS else "hurt"
        for m in rx.finditer(low):
            if (v := _count(low, m)) is not None:
                out.add((kind, v))
    return set(sorted(out)[:MAX_FOUND]) if len(out) > MAX_FOUND else out
