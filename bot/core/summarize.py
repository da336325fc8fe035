"""Headlines and extractive summaries drawn from all of an event's articles, boilerplate excluded."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from bot.core.fingerprint import fold_quotes, term_set
from bot.core.memo import BoundedMemo
from bot.core.sentences import line_sentences
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams

# Outlet furniture that must never reach a summary: (name, trigger, pattern). A sentence matching any
# pattern is dropped; a line matching a LINE pattern is dropped whole (a photo caption ends in its
# credit). Case-insensitive regexes cost ~5-20 µs each on a news sentence, so each pattern has a cheap
# necessary condition on the lower-cased text first: for patterns anchored at the start, the words it can
# start with (one startswith test); for the rest, substrings it cannot match without. Every substring
# test scans the whole line (≈ 0.5 µs on a paragraph), which is why the anchored ones test only the start
# and shared tails ("ing by", " here") stand for several words.
_START, _ANYWHERE = "start", "anywhere"
_BOILERPLATE: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "timestamp",
        _START,
        ("published", "updated", "posted", "last updated", "first published"),
        r"(?i)^\s*(published|updated|posted|last updated|first published)\s*:",
    ),
    # Case matters here: "By Monday, talks had…" is content, "By Jane Doe" a byline.
    ("byline", _START, ("by",), r"^\s*(?:By|BY)\s+[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){1,3}\s*(,|\||$|and\b)"),
    (
        "photo credit",
        _ANYWHERE,
        ("photo", "picture", "image", "credit", "video"),
        r"\b(?i:photos?|pictures?|images?|credit|file photo|video)\s*:\s*[A-Z]",
    ),
    (
        "related link",
        _START,
        ("read more", "related", "also read", "see also", "more on this", "watch", "listen"),
        r"(?i)^\s*(read more|related|also read|see also|more on this|watch|listen)\b\s*[:|>»-]",
    ),
    (
        "social prompt",
        _ANYWHERE,
        ("join", "follow"),
        r"(?i)\b(join|follow)\s+(us|our|[\w’']+['’]s)\b.{0,40}\b(telegram|whatsapp|twitter|facebook|instagram|channel)",
    ),
    ("print note", _ANYWHERE, ("a version of this",), r"(?i)\ba version of this (article|story) appeared in\b"),
    (
        "subscription",
        _ANYWHERE,
        ("subscribe", "sign up"),
        r"(?i)\b(subscribe|sign up)\b.{0,30}\b(now|today|newsletter|free|to read|for)\b|\bsubscribe\s*$",
    ),
    (
        "copyright",
        _ANYWHERE,
        ("copyright", "©", "(c)", "rights reserved"),
        r"(?i)(copyright|©|\(c\))\s*\d{4}|all rights reserved",
    ),
    ("call to action", _ANYWHERE, (" here", "download"), r"(?i)\b(click|tap) here\b|\bdownload (our|the) app\b"),
    ("agency footer", _ANYWHERE, ("ing by",), r"(?i)\b(reporting|writing|editing|additional reporting) by\b"),
    ("url", _ANYWHERE, ("http", "www.", ".com", ".htm"), r"(?i)https?:\s*/|www\.|\.com\b|\.html?\b"),
    (
        "advert",
        _START,
        ("advertisement", "sponsored", "share", "tweet", "email", "print"),
        r"(?i)^\s*(advertisement|sponsored|share this( article| story)?|share|tweet|email|print)\s*$",
    ),
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, _, _, rx in _BOILERPLATE)
# Each trigger with the index of its pattern, split by where it must occur.
_ANYWHERE_TRIGGERS = tuple(
    (t, i) for i, (_, where, triggers, _) in enumerate(_BOILERPLATE) if where == _ANYWHERE for t in triggers
)
_START_TRIGGERS = tuple(
    (t, i) for i, (_, where, triggers, _) in enumerate(_BOILERPLATE) if where == _START for t in triggers
)
_START_WORDS = tuple(t for t, _ in _START_TRIGGERS)
_LINE_PATTERNS = frozenset({"photo credit", "timestamp", "related link", "print note", "url"})

# A wire dateline at the start of a lead: "SEOUL (Reuters) - ", "SEOUL • ", "WASHINGTON, March 3 (AP) —".
_DATELINE = re.compile(r"^[A-Z][A-Z .,'’-]{2,40}(?:,\s*\w+\.? \d{1,2})?\s*(?:\([^)]{1,30}\))?\s*[-–—•:]\s+")
# Apostrophes lost in transit ("China s", "It s", "don t"): such a variant is the least clean one.
_LOST_APOSTROPHE = re.compile(r"\b[A-Za-z]+ (s|t|re|ve|ll|d)\b(?![-'’])")
# Every match of _LOST_APOSTROPHE contains this; it starts with a literal, so the engine scans for a
# space instead of trying a word at every position (≈ 0.6 µs against ≈ 5 µs on a news sentence).
_APOSTROPHE_HINT = re.compile(r" (?:s|t|re|ve|ll|d)\b")
# Closing quotes and brackets allowed after a sentence's terminal punctuation.
_CLOSERS = "\"'”’)]"
_TERMINALS = (".", "!", "?", "…")
# Characters of article text lowered and scanned for triggers at a time (see _scanned_lines): 400 to 3,000
# all gave 0.98–1.01 M instructions a benchmark article for the candidates; the result never depends on it.
_BLOCK_CHARS = 1500
_OUTLET_SUFFIX = re.compile(r"\s+[-|–—:]\s+([^-|–—]{2,60})$")


def boilerplate_kind(sentence: str) -> str | None:
    """The name of the boilerplate pattern a sentence matches, or None when it is real content."""
    low = sentence.lower()
    return _kind_among(sentence, _anywhere_hits(low) | _start_hits(low))


def _anywhere_hits(low: str, triggers: tuple[tuple[str, int], ...] = _ANYWHERE_TRIGGERS) -> set[int]:
    """Unanchored patterns whose trigger occurs in the lower-cased text (a part of it can hold no more)."""
    return {i for t, i in triggers if t in low}


def _start_hits(low: str) -> set[int]:
    """Anchored patterns whose start words open the lower-cased text."""
    head = low.lstrip()
    if not head.startswith(_START_WORDS):
        return set()
    return {i for t, i in _START_TRIGGERS if head.startswith(t)}


def _kind_among(sentence: str, hit: set[int]) -> str | None:
    """The first pattern, in table order, among the triggered ones that the sentence matches."""
    if not hit:
        return None
    # In table order, so the first pattern that matches names the kind, as the table says.
    for i in sorted(hit):
        name, rx = _PATTERNS[i]
        if rx.search(sentence):
            return name
    return None


_PRONOUN = r"(?:[Ii]|[Yy]ou|[Ww]e|[Tt]hey|[Hh]e|[Ss]he|[Ii]t|[Tt]hat|[Tt]here|[Ww]ho|[Ww]hat)"
_LOST_S = re.compile(r"\b([A-Za-z]+) s\b(?=[\s,.;:!?\"”]|$)")
_LOST_NT = re.compile(r"\b([A-Za-z]+n) t\b")
_LOST_PRONOUN = re.compile(rf"\b({_PRONOUN}) (re|ve|ll|d|m)\b")
# Every match of _LOST_PRONOUN contains this literal-led tail: the cheap test that lets most text skip it.
_PRONOUN_TAIL = re.compile(r" (?:re|ve|ll|d|m)\b")
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?%])")
# The same test without a group to substitute: finding nothing (the usual case) costs a third of a sub.
_SPACE_BEFORE_PUNCT_HINT = re.compile(r" [,.;:!?%]")
# The union of _APOSTROPHE_HINT, _PRONOUN_TAIL and _SPACE_BEFORE_PUNCT_HINT: a sentence without a match needs
# none of the repairs (see _cleaned).
_REPAIR_HINT = re.compile(r" (?:(?:s|t|re|ve|ll|d|m)\b|[,.;:!?%])")


def repair_apostrophes(s: str) -> str:
    """Put back apostrophes lost in transit: "China s" → "China's", "don t" → "don't", "they re" → "they're"."""
    pronoun = _PRONOUN_TAIL.search(s) is not None
    if " s " not in s and " t " not in s and not s.endswith(" s") and (not pronoun or not _LOST_PRONOUN.search(s)):
        return s
    # Each rule runs only where its literal part occurs: the word-led patterns cost ≈ 10 µs a scan.
    if " s" in s:
        s = _LOST_S.sub(r"\1's", s)
    if "n t" in s:
        s = _LOST_NT.sub(r"\1't", s)
    return _LOST_PRONOUN.sub(r"\1'\2", s) if pronoun else s


def clean_sentence(s: str) -> str:
    """Tidy one sentence for display: dateline removed, apostrophes, tokeniser quotes and spacing repaired."""
    return _tidy(repair_apostrophes(s), spaced_punct=True)


def _tidy(s: str, spaced_punct: bool) -> str:
    """clean_sentence after the apostrophe repair; `spaced_punct` False if no space stands before punctuation."""
    if "``" in s or "''" in s:
        s = s.replace("``", "“").replace("''", "”")
    # Whitespace is collapsed first (str.split and the regex \s agree on every code point), so each
    # rule below sees single spaces and can start with a literal: the same result, a few times faster.
    # Printable text (no separator but the ASCII space) with no double or outer space is collapsed already.
    if not s.isprintable() or "  " in s or s.startswith(" ") or s.endswith(" "):
        s = " ".join(s.split())
        spaced_punct = True  # a separator now made a space may stand before punctuation
    if " " in s:
        if spaced_punct and _SPACE_BEFORE_PUNCT_HINT.search(s) is not None:
            s = _SPACE_BEFORE_PUNCT.sub(r"\1", s)
        if "“ " in s:
            s = s.replace("“ ", "“")
        if " ”" in s:
            s = s.replace(" ”", "”")
    # An anchored match sliced off: what sub(count=1) does, without building a new string when none is found.
    dateline = _DATELINE.match(s)
    return s[dateline.end() :] if dateline is not None else s


def cleanliness(s: str) -> float:
    """A penalty-based cleanliness score in [0, 1]: lost apostrophes, shouting, odd starts cost."""
    return _cleanliness(s, _APOSTROPHE_HINT.search(s) is not None)


def _cleanliness(s: str, clitic: bool) -> float:
    """cleanliness, told whether s may hold a lost apostrophe (False: it holds no _APOSTROPHE_HINT match)."""
    score = 1.0
    if clitic:
        score -= 0.3 * min(3, len(_LOST_APOSTROPHE.findall(s)))
    if s.isupper():
        score -= 0.5
    if s and s[0].islower():
        score -= 0.3
    return max(0.0, score)


def _cleaned(raw: str) -> tuple[str, float]:
    """clean_sentence and cleanliness of a sentence as received: the usual one, nothing to repair, in one search."""
    # Each space-led hint (lost apostrophes to repair, to penalise, a space before punctuation) scanned every
    # space of the sentence, ≈ 6 k instructions on a news sentence: one search for their union tells most
    # sentences apart in one such scan. A sentence where it finds nothing holds no lost apostrophe (each rule's
    # match holds one of these) and no space before punctuation, unless collapsing other separators makes one,
    # which _tidy checks again.
    if _REPAIR_HINT.search(raw) is None:
        return _tidy(raw, spaced_punct=False), _cleanliness(raw, clitic=False)
    return clean_sentence(raw), cleanliness(raw)


# Sentences the cache below holds before it starts again.
SENTENCE_CACHE_SIZE = 2048


def _prepared_sentence(raw: str) -> tuple[str, float, frozenset[str]]:
    """A sentence as received → its display text, cleanliness and terms (empty outside 40–320 characters).

    Such a sentence is no candidate, nor is one with fewer than 4 terms (sentence_candidates tests both).
    """
    # Cleanliness is judged on the text as received: a repaired sentence still loses to an intact one.
    s, clean = _cleaned(raw)
    return s, clean, term_set(s) if 40 <= len(s) <= 320 else frozenset()


# Wire copies carry a story's sentences word for word: in the benchmark's full texts one sentence in seven arrived
# before, and looking them up leaves 0.8 % of the instructions an article takes. Bounded, so it holds the last
# few hundred articles' sentences; copies further apart are prepared again.
_PREPARED_SENTENCES: BoundedMemo[str, tuple[str, float, frozenset[str]]] = BoundedMemo(
    _prepared_sentence, SENTENCE_CACHE_SIZE
)


class Candidate(NamedTuple):
    """One content sentence of one article, ready to rank.

    A named tuple, not a frozen dataclass: as immutable, and built in a quarter of the time (up to
    summary_sentences_per_article an article, in the tracker's hot path).
    """

    text: str  # cleaned for display
    terms: frozenset[str]
    article: int  # arrival order of its article within the event
    position: int  # index among that article's content sentences
    clean: float


def sentence_candidates(
    text: str, article: int, params: ClusterParams = DEFAULT_PARAMS, *, block_chars: int = _BLOCK_CHARS
) -> list[Candidate]:
    """The first few content sentences of an article's text, boilerplate and non-sentences left out.

    block_chars: how much text is lowered and scanned for triggers at a time; the speed, never the result.
    """
    out: list[Candidate] = []
    limit = params.summary_sentences_per_article
    # Line by line, lowered and split lazily: the work stops at the last candidate needed, not at the limit.
    for line, line_low, present in _scanned_lines(text[: params.summary_scan_chars], block_chars):
        line_anywhere = _anywhere_hits(line_low, present) if present else set()
        line_kind = _kind_among(line, line_anywhere | _start_hits(line_low))
        if line_kind in _LINE_PATTERNS:
            continue
        for raw in line_sentences(line):
            # Lines without a full stop are headlines, standfirsts or related-story links, not facts.
            if len(raw) < 40 or len(raw) > 360 or not raw.rstrip(_CLOSERS).endswith(_TERMINALS):
                continue
            # A one-sentence paragraph is its line: its kind is known already. Other sentences have a start
            # of their own, but hold an unanchored trigger only where their line does.
            if raw == line:
                kind = line_kind
            else:
                low = raw.lower()
                starts = _start_hits(low)
                kind = _kind_among(raw, _anywhere_hits(low, present) | starts if line_anywhere else starts)
            if kind is not None:
                continue
            s, clean, terms = _PREPARED_SENTENCES[raw]
            if len(terms) < 4:  # also every cleaned sentence out of bounds (see _prepared_sentence)
                continue
            out.append(Candidate(s, terms, article, len(out), clean))
            if len(out) >= limit:
                return out
    return out


def _scanned_lines(text: str, block_chars: int) -> Iterator[tuple[str, str, tuple[tuple[str, int], ...]]]:
    """Each line with its folded lower-cased form and the unanchored triggers its block of lines holds."""
    # Block by block, not all at once: the candidates of a full benchmark text come from the first ≈ 1,200
    # of its ≈ 2,000 characters, and the trigger scans below cost ≈ 0.7 ns a character each (6.18 → 6.12 M
    # instructions an article through the tracker).
    for block in _blocks(text, block_chars):
        # Lower-cased for the trigger and start-word tests only, whose words hold no quote or dash: folded
        # first, one character for one (the lines still pair), a text whose only non-ASCII characters are
        # curly quotes lower-cases as ASCII, many times faster. A trigger found in the folded text is one the
        # original holds or one its pattern, run on the original line, rejects: the outcome is the same.
        block_low = fold_quotes(block).lower()
        # The unanchored triggers the block holds at all, found in one pass each: a line can hold no others,
        # so the per-line tests are a few, not all of them.
        present = tuple((t, i) for t, i in _ANYWHERE_TRIGGERS if t in block_low)
        # Lower-casing never makes or removes a line break, so the lower-cased lines pair with the lines.
        for line, line_low in zip(block.splitlines(), block_low.splitlines(), strict=True):
            yield line, line_low, present


def _blocks(text: str, size: int) -> Iterator[str]:
    """The text in order, in pieces of whole lines of at least `size` characters (the last may be shorter).

    Each piece but the last ends with a line feed, so the pieces' lines are the text's lines: no line break
    str.splitlines knows ("\\r\\n" among them) spans a cut.
    """
    start = 0
    while cut := text.find("\n", start + size - 1) + 1:
        yield text[start:cut]
        start = cut
    if start < len(text):
        yield text[start:]


def _centrality(terms: frozenset[str], weights: Mapping[str, float]) -> float:
    """How much of the event's weight a sentence carries, normalised for its length."""
    if not terms:
        return 0.0
    # fsum is exact, so the sum does not depend on the set's iteration order, which changes with
    # PYTHONHASHSEED (a plain sum moved in the last bit from run to run: a tie could break either way).
    # map() does the look-ups in C; fsum costs ≈ 0.1 µs more than sum here.
    return math.fsum(map(weights.get, terms, repeat(0.0))) / math.sqrt(len(terms))


def summarize(
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    params: ClusterParams = DEFAULT_PARAMS,
) -> str:
    """One to three central sentences (≤ summary_max_chars), cleanest variant of each, no repeats."""
    if not candidates:
        return ""
    # Each candidate's centrality once: the ranking and the group scores below both use it.
    scored = [(_centrality(c.terms, weights), c) for c in candidates]

    def rank(sc: tuple[float, Candidate]) -> tuple[float, int]:
        cent, c = sc
        return cent * (1.0 + 0.5 / (1 + c.position)), -c.article

    ranked = sorted(scored, key=rank, reverse=True)[: params.summary_rank_pool]
    # Group outlets' variants of one sentence; the group's support (distinct articles) says how
    # central the fact is, and the display text is the cleanest variant.
    dup = params.summary_dup_jaccard
    groups: list[tuple[float, list[Candidate]]] = []
    heads: list[tuple[frozenset[str], int, list[Candidate]]] = []  # each group's head terms and their count
    for cent, c in ranked:
        terms = c.terms
        n = len(terms)
        for head, n_head, g in heads:
            # Word Jaccard, inline: this loop runs up to 24 × 24 times per summary (empty sets score 0).
            # It is at most min/max of the two sizes, so pairs of very different lengths need no intersection.
            if n and n_head:
                if (n / n_head if n < n_head else n_head / n) < dup:
                    continue
                inter = len(terms & head)
                if inter / (n + n_head - inter) >= dup:
                    g.append(c)
                    break
            elif dup <= 0.0:
                g.append(c)
                break
        else:
            group = [c]
            groups.append((cent, group))
            heads.append((terms, n, group))

    chosen: list[tuple[tuple[int, int], str]] = []
    total = 0
    for _, g in sorted(groups, key=_group_score, reverse=True):
        best = max(g, key=_display_preference) if len(g) > 1 else g[0]
        text = best.text
        if total + len(text) + (1 if chosen else 0) > params.summary_max_chars:
            if chosen:
                continue
            text = _truncate(text, params.summary_max_chars)
        chosen.append((min((c.position, c.article) for c in g), text))
        total += len(text) + 1
        if len(chosen) >= params.summary_max_sentences:
            break
    # Present in reading order: the earliest position at which any outlet carries each sentence.
    chosen.sort(key=lambda ct: ct[0])
    return " ".join(text for _, text in chosen)


def _group_score(group: tuple[float, list[Candidate]]) -> float:
    """A variant group's rank: its head's centrality, raised for an early position and for more outlets."""
    head_centrality, g = group
    if len(g) == 1:  # most groups (a sentence one outlet carries): support 1, the last factor below is 1.0
        return head_centrality * (1.0 + 0.5 / (1 + g[0].position))
    support = len({c.article for c in g})
    lead = 1.0 + 0.5 / (1 + min(c.position for c in g))
    return head_centrality * lead * (1.0 + 0.25 * (support - 1))


def _display_preference(c: Candidate) -> tuple[float, int, int]:
    """Which variant of a sentence to show: the cleanest, then the earliest article's, then the shortest."""
    return c.clean, -c.article, -len(c.text)


def _truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


def clean_title(title: str, outlet: str) -> str:
    """A title without its outlet suffix ("… - Reuters") and with tidy spacing."""
    t = " ".join(title.split())  # what re.sub(r"\s+", " ", title).strip() gives (same whitespace), 4× faster
    m = _OUTLET_SUFFIX.search(t)
    if m and outlet and m.group(1).strip().lower() in {outlet.lower(), outlet.lower().removeprefix("the ")}:
        t = t[: m.start()].rstrip()
    return t


@dataclass(frozen=True, slots=True)
class Title:
    """One outlet's title, prepared once for headline ranking."""

    text: str  # without the outlet suffix; may be empty
    terms: frozenset[str]
    clean: float
    odd_length: bool  # too short or too long to make a good headline


def title_candidate(title: str, outlet: str, params: ClusterParams = DEFAULT_PARAMS) -> Title:
    """A (title, outlet) pair cleaned and scored up to its centrality, which changes as the event grows."""
    t = clean_title(title, outlet)
    if not t:
        return Title("", frozenset(), 0.0, True)
    return Title(t, term_set(t), cleanliness(t), len(t) < 20 or len(t) > params.headline_max_chars)


def headline(
    titles: Sequence[tuple[str, str]],
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    params: ClusterParams = DEFAULT_PARAMS,
) -> str:
    """The best of the outlets' (title, outlet) pairs, else a clean lead sentence, else empty."""
    prepared = [title_candidate(title, outlet, params) for title, outlet in titles]
    return best_headline(prepared, candidates, weights, params)


def best_headline(
    titles: Sequence[Title],
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    params: ClusterParams = DEFAULT_PARAMS,
) -> str:
    """`headline` over titles already prepared by `title_candidate`, in arrival order."""
    best: tuple[float, str] | None = None
    for i, title in enumerate(titles):
        if not title.text:
            continue
        score = _centrality(title.terms, weights) + title.clean
        if title.odd_length:
            score -= 0.5
        score -= 0.01 * i  # earlier reports win ties: the alert's headline should rarely flip
        if best is None or score > best[0]:
            best = (score, title.text)
    if best is not None:
        return _truncate(best[1], params.headline_max_chars)
    if candidates:
        lead = min(candidates, key=lambda c: (c.article, c.position, -c.clean))
        return _truncate(lead.text.rstrip("."), params.headline_max_chars)
    return ""
