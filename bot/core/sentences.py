"""An offline rule-based sentence splitter: abbreviations, initials, decimals, quotes and CJK stops."""

from __future__ import annotations

import re
from collections.abc import Iterator


def _word_set(words: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of a literal block."""
    return frozenset(words.split())


# Words that end with a full stop without ending the sentence (lower-cased, without the stop).
ABBREVIATIONS = _word_set(
    """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm maj rev hon gov sen rep pres supt
    insp det fr sec amb dept univ corp inc ltd co bros no nos vol pp op cf vs etc al approx est jan
    feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun e.g i.e
    a.m p.m u.s u.k u.n u.s.a e.u
    """
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace. Spelled
# "[.!?…][.!?…]*" rather than "[.!?…]+" so that the pattern opens with a character set: the regex engine
# then skips in C to the next stop instead of trying the whole pattern at every position (2× on a line).
_BOUNDARY = re.compile(r"""([.!?…][.!?…]*["'”’)\]]*)(\s+)""")
# In a line whose only stop is the full stop every boundary starts with one, and this literal-led form finds
# the same boundaries: the engine skips from one full stop to the next instead of testing every character
# against a set (≈ 60 instructions a character: splitting a benchmark text's lines took 364 k, now 258 k).
_FULL_STOP_BOUNDARY = re.compile(r"""(\.[.!?…]*["'”’)\]]*)(\s+)""")
# CJK full stops need no following space; split after one unless a closing quote follows it.
_CJK_SPLIT = re.compile(r"(?<=[。！？])(?=[^」』”’）)。！？])")
_NEXT_START = re.compile(r"""["'“‘(\[]*([\w])""")
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")
_CLOSERS = "\"'”’)]"


def _word_before(line: str, start: int, end: int) -> str:
    """The run of word characters, dots, apostrophes and hyphens that ends at `end` (not before `start`).

    A backward scan: a regex anchored at the end would be retried from every position of the sentence so far.
    """
    i = end
    while i > start:
        ch = line[i - 1]
        if ch.isalnum() or ch in "_.'’-":
            i -= 1
        else:
            break
    return line[i:end]


def _is_abbreviation(word: str) -> bool:
    """Whether a word before a full stop is an abbreviation or a single initial."""
    if not word:
        return False
    word = word.rstrip(".").lower()
    if word in ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J." in "J. K. Rowling", "U.S." handled above, "D.C." here.
    return len(word.replace(".", "")) <= 3 and _INITIALS.fullmatch(word) is not None


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; line breaks always end a sentence, and empty pieces are dropped."""
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[str]:
    """The sentences of `text` one at a time, so a caller that needs only the first few stops early."""
    for line in text.splitlines():
        yield from line_sentences(line)


def line_sentences(line: str) -> Iterator[str]:
    """The sentences of one line (a line break always ends a sentence)."""
    # isascii() is a flag look-up: ASCII lines, most of them, skip the search for CJK stops. The others (any
    # curly quote makes one) are searched with three plain scans, so Latin text never pays for the lookbehind
    # of _CJK_SPLIT; a regex for the set tested every character at ≈ 25 instructions (splitting a benchmark
    # text's lines: 259 k instructions, now 202 k).
    cjk = not line.isascii() and ("。" in line or "！" in line or "？" in line)
    pieces = _CJK_SPLIT.split(line) if cjk else (line,)
    for piece in pieces:
        piece = piece.strip()
        if piece:
            yield from _split_line(piece)


def _split_line(line: str, boundary: re.Pattern[str] | None = None) -> Iterator[str]:
    """Split one stripped paragraph line at sentence boundaries (found by `boundary`; by default the line's)."""
    start = 0
    if boundary is None:
        boundary = _BOUNDARY if "!" in line or "?" in line or "…" in line else _FULL_STOP_BOUNDARY
    for m in boundary.finditer(line):
        nxt = _NEXT_START.match(line, m.end())
        if nxt is None:
            continue
        first = nxt.group(1)
        punct = m.group(1)
        if punct[0] == "." and len(punct.rstrip(_CLOSERS)) == 1:
            if _is_abbreviation(_word_before(line, start, m.start(1))):
                continue
            # "... said the U.S. official" — a lower-case next word means the stop was not an end.
            if first.islower():
                continue
        elif first.islower() and punct[0] in "!?":
            # An exclamation inside a quotation followed by "he said" continues the sentence.
            continue
        piece = line[start : m.end(1)].strip()
        if piece:
            yield piece
        start = m.end()
    rest = line[start:].strip()
    if rest:
        yield rest
