"""An offline rule-based sentence splitter: abbreviations, initials, decimals, quotes and CJK stops."""

from __future__ import annotations

import re


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

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"""([.!?…]+["'”’)\]]*)(\s+)""")
# CJK full stops need no following space; split after one unless a closing quote follows it.
_CJK_SPLIT = re.compile(r"(?<=[。！？])(?=[^」』”’）)。！？])")
_WORD_BEFORE = re.compile(r"([\w.'’-]+)$")
_NEXT_START = re.compile(r"""["'“‘(\[]*([\w])""")


def _is_abbreviation(before: str) -> bool:
    """Whether the text before a full stop ends in an abbreviation or a single initial."""
    m = _WORD_BEFORE.search(before)
    if m is None:
        return False
    word = m.group(1).rstrip(".").lower()
    if word in ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J." in "J. K. Rowling", "U.S." handled above, "D.C." here.
    return bool(re.fullmatch(r"(?:[^\W\d_]\.)*[^\W\d_]", word)) and len(word.replace(".", "")) <= 3


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; line breaks always end a sentence, and empty pieces are dropped."""
    out: list[str] = []
    for line in text.splitlines():
        for piece in _CJK_SPLIT.split(line):
            piece = piece.strip()
            if piece:
                _split_line(piece, out)
    return out


def _split_line(line: str, out: list[str]) -> None:
    """Split one paragraph line at sentence boundaries, appending to out."""
    start = 0
    for m in _BOUNDARY.finditer(line):
        end = m.end(1)
        before = line[start : m.start(1)]
        after = line[m.end() :]
        nxt = _NEXT_START.match(after)
        if nxt is None:
            continue
        first = nxt.group(1)
        punct = m.group(1)
        if punct.startswith(".") and len(punct.rstrip("\"'”’)]")) == 1:
            if _is_abbreviation(before):
                continue
            # "... said the U.S. official" — a lower-case next word means the stop was not an end.
            if first.islower():
                continue
        elif first.islower() and punct[0] in "!?":
            # An exclamation inside a quotation followed by "he said" continues the sentence.
            continue
        piece = line[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    rest = line[start:].strip()
    if rest:
        out.append(rest)
