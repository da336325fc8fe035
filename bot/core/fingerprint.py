"""Text normalisation for comparison: folded tokens, content terms, entities and word shingles."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, itemgetter

from bot.core.memo import BoundedMemo

# Quote and dash variants outlets use for the same text; folding them first means a curly-quoted
# reprint and a straight-quoted wire copy tokenise identically.
_FOLD_MAP = {
    # Commonest first (counted over the ECB+ documents: ’ 1,591 times, “ 270, ” 261, — 56, – 41, ‘ 36):
    # fold_quotes() stops at the first one that leaves the text ASCII.
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2014": "-",
    "\u2013": "-",
    "\u2018": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u02bc": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "`": "'",
}
# Folding is a handful of characters in a long text. One str.replace per variant the text holds, stopping
# once it is ASCII, costs ≈ 1 µs on a news text with curly apostrophes; a regex substitution with a
# callback scanned every character (≈ 14 µs), and str.translate with a dict looks each one up (≈ 270 µs
# on a 7 KB article).


def _latin_fold_table() -> dict[int, str]:
    """Map accented Latin letters to their base letter (é → e) without touching Hangul or CJK."""
    table: dict[int, str] = {}
    for cp in range(0xC0, 0x250):
        base = unicodedata.normalize("NFKD", chr(cp))
        stripped = "".join(c for c in base if not unicodedata.combining(c))
        if stripped and stripped.isascii() and stripped != chr(cp):
            table[cp] = stripped
    table[ord("ß")] = "ss"
    return table


_LATIN = {chr(cp): base for cp, base in _latin_fold_table().items()}
_LATIN_CHARS = re.compile("[" + re.escape("".join(_LATIN)) + "]")

_PERCENT = re.compile(r"\bper\s+cent\b|%", re.IGNORECASE)
# Every match of _PERCENT's words in lower-cased ASCII text contains this; it starts with a literal.
_PER_CENT_HINT = re.compile(r"per\s+cent")
# A token is a run of letters or a number (keeping decimals and thousands separators together);
# apostrophes and hyphens split, which makes "Jong-un", "Jong Un" and "China's"/"China s" agree.
# Letters first: the two alternatives cannot start alike, and most tokens are words (≈ 20 % faster).
_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+(?:[.,][0-9]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_BOUNDARY_CHARS = frozenset('.!?:\n"')
# The separator before each token is kept: it tells sentence starts and split apostrophes apart.
_GAP_TOKEN = re.compile(r"([^0-9A-Za-z\u00c0-\uffff]*)([^\W\d_]+|[0-9]+(?:[.,][0-9]+)*)")
# _GAP_TOKEN's tokens in ASCII text, gathered into runs whose tokens are one space apart (in news, ≈ 15
# tokens a run), as a split pattern: runs and the gaps between them alternate. _ASCII_UNIT is one token,
# possessive as a token is the longest match anyway. The regex engine tests a class's ranges in order,
# so lower case first: ≈ 12 µs against ≈ 16 µs with [A-Za-z] on a 2,200-character article.
_ASCII_UNIT = r"(?:[a-zA-Z]++|[0-9]++(?:[.,][0-9]++)*+)"
_ASCII_RUNS = re.compile(f"({_ASCII_UNIT}(?: {_ASCII_UNIT})*+)")
# In such runs joined by spaces, the space before each token that starts with a capital, and the capital
# (splitting there keeps each piece's count of spaces, which is all _first_indices reads).
_CAPITALISED = re.compile(" [A-Z]")


def _word_set(words: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of a literal block."""
    return frozenset(words.split())


# Contraction tails left behind when an apostrophe is split or lost in transit ("it s", "don t").
_CLITICS = frozenset({"s", "t", "ll", "ve", "re", "d", "m"})

STOPWORDS = _word_set(
    """
    a about above after again against all almost also although am among an and another any are
    around as at be because been before being below between both but by can could did do does doing
    done down during each either else even ever every few for from further had has have having he
    her here hers herself him himself his how however i if in into is it its itself just least less
    many may me might more most much must my myself neither no nor not now of off often on once one
    only or other our ours ourselves out over own per perhaps quite rather same several shall she
    should since so some such than that the their theirs them themselves then there these they this
    those though through thus to too toward towards under until up upon us very via was we were what
    whatever when where whether which while who whom whose why will with within without would yet
    you your yours yourself said says say saying told tell according asked added just like get got
    went go goes going make made mr mrs ms dr prof st www http https com html htm
    """
)


def _latin_char(m: re.Match[str]) -> str:
    """The base letter(s) of one accented Latin letter."""
    return _LATIN[m.group()]


def fold_quotes(text: str) -> str:
    """Replace quote, dash and space variants one for one (same length, same lines); all else as it was."""
    if not text.isascii():
        for variant, plain in _FOLD_MAP.items():
            if variant in text:
                text = text.replace(variant, plain)
                if text.isascii():
                    break
    if "`" in text:  # the one ASCII variant: also where the loop above stopped early
        text = text.replace("`", "'")
    return text


def fold(text: str) -> str:
    """Fold quotes, dashes, accents and 'per cent' so that outlets' variants of one text compare equal."""
    text = fold_quotes(text)
    if not text.isascii():
        # Other letters and signs remain: compatibility forms, then accents.
        text = _LATIN_CHARS.sub(_latin_char, unicodedata.normalize("NFKC", text))
    # The case-insensitive regex scans every position (≈ 10 ns a character); a literal-led search of the
    # lower-cased text says first whether it can match at all (no other letter lower-cases to p, e, r, c,
    # n or t once NFKC has run). ("cent" alone was no test: "recent", "percent" and "century" made most
    # texts pay for the substitution.)
    if "%" in text or _PER_CENT_HINT.search(text.lower()) is not None:
        return _PERCENT.sub(" percent ", text)
    return text


def _cjk_bigrams(run: str) -> list[str]:
    """Split a CJK run into character bigrams: the usual unit when there are no spaces between words."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _first_indices(chunks: list[str]) -> Iterable[int]:
    """Where each chunk's first token stands in the tokens of the chunks joined by spaces."""
    # Each chunk holds one token more than it has spaces.
    return accumulate(map(add, map(str.count, chunks[:-1], repeat(" ")), repeat(1)), initial=0)


def _ascii_tokens(folded: str) -> tuple[list[str], list[str], Iterable[int]]:
    """_GAP_TOKEN's gaps and lower-cased tokens of ASCII text, in step, and where capitalised tokens stand."""
    # In ASCII every character is a token character or a gap character, so splitting on runs of tokens
    # gives exactly _GAP_TOKEN's gaps between runs; inside a run each gap is one space. The regex then
    # makes one string per run instead of two per token, str.split cuts the tokens, and lower-casing the
    # joined runs once (ASCII letters map one to one) replaces one call per token: the fingerprint of a
    # 2,100-character article takes 1.70 M instructions instead of 2.03 M.
    parts = _ASCII_RUNS.split(folded)
    runs = parts[1::2]
    if not runs:
        return [], [], ()
    joined = " ".join(runs)
    lows = joined.lower().split(" ")
    gaps = [" "] * len(lows)
    for start, gap in zip(_first_indices(runs), parts[0:-1:2], strict=True):
        gaps[start] = gap
    # Splitting the joined runs at each capitalised token and counting the spaces in between finds them
    # without making the original-case tokens to test each one's first letter (≈ 12 µs against ≈ 20 µs
    # on a 2,200-character article).
    return gaps, lows, _first_indices(_CAPITALISED.split(joined))


def _scan(text: str) -> tuple[list[str], list[bool]]:
    """Lower-cased tokens of folded text and, in step, whether each was capitalised mid-sentence.

    Two flat lists rather than (token, flag) pairs: the fingerprint feeds them to C-level helpers
    (map, Counter, compress) instead of looping over pairs in Python.
    """
    folded = fold(text)
    gaps: Sequence[str]
    capitals: Iterable[int]  # the indices of the tokens that start with a capital, in increasing order
    if folded.isascii():
        gaps, lows, capitals = _ascii_tokens(folded)
    elif _CJK.search(folded):
        return _scan_each(folded)
    else:
        pairs = _GAP_TOKEN.findall(folded)
        gaps, toks = zip(*pairs, strict=True) if pairs else ((), ())
        lows = list(map(str.lower, toks))
        capitals = compress(range(len(toks)), map(str.isupper, map(itemgetter(0), toks)))
    if not lows:
        return [], []
    # Every token maps to one token here, so whole-list operations replace a per-token loop; only the
    # few capitalised tokens and clitics get a look of their own. Same result as _scan_each.
    caps = [False] * len(lows)
    plain_gap = _BOUNDARY_CHARS.isdisjoint
    for i in capitals:
        # A capital after sentence punctuation or a line break says nothing, nor does the text's first.
        if i and plain_gap(gaps[i]):
            caps[i] = True
    dropped: list[int] = []  # clitics after an apostrophe or a space, in increasing order
    for i in compress(range(len(lows)), map(_CLITICS.__contains__, lows)):
        gap = gaps[i]
        if i and 0 < len(gap) <= 2 and gap[0] in "' ":
            # "don t" / "don't" → "dont"; "China s" / "China's" → "china" (possessive dropped).
            if lows[i] == "t":
                kept = i - 1  # the token it joins: the last one before it that is not itself dropped
                k = len(dropped) - 1
                while k >= 0 and dropped[k] == kept:
                    kept -= 1
                    k -= 1
                lows[kept] += "t"
            dropped.append(i)
    for i in reversed(dropped):
        del lows[i]
        del caps[i]
    return lows, caps


def _scan_each(folded: str) -> tuple[list[str], list[bool]]:
    """_scan token by token, for texts with CJK runs (a run becomes several bigram tokens)."""
    lows: list[str] = []
    caps: list[bool] = []
    plain_gap = _BOUNDARY_CHARS.isdisjoint
    for gap, tok in _GAP_TOKEN.findall(folded):
        low = tok.lower()
        if low in _CLITICS and lows and 0 < len(gap) <= 2 and gap[0] in "' ":
            # "don t" / "don't" → "dont"; "China s" / "China's" → "china" (possessive dropped).
            if low == "t":
                lows[-1] += "t"
            continue
        if not tok.isascii() and _CJK.search(tok):
            grams = _cjk_bigrams(low)
            lows.extend(grams)
            caps.extend([False] * len(grams))
            continue
        lows.append(low)
        # A capital after sentence punctuation or a line break says nothing about being a name.
        caps.append(tok[0].isupper() and plain_gap(gap))
    if caps:
        caps[0] = False  # the text's first token starts a sentence
    return lows, caps


def words(text: str) -> list[str]:
    """Lower-cased folded word tokens of a text, stopwords included (the basis of shingles)."""
    return _scan(text)[0]


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A deliberately light suffix strip (plural -s, -es after sibilants) so 'sanction'/'sanctions' agree."""
    n = len(token)
    if n > 4 and token[-1] == "s" and not token[0].isdigit():
        if token.endswith("ies") and n > 5:
            return token[:-3] + "y"
        if token.endswith(("sses", "shes", "ches", "xes")):
            return token[:-2]
        if not token.endswith(("ss", "us", "is")):
            return token[:-1]
    return token


def _content_term(token: str) -> str:
    """A token's content term: "" for stopwords and single characters, else its stem."""
    return "" if len(token) < 2 or token in STOPWORDS else stem(token)


# Token → its content term: one C-level dict look-up per token replaces a length test, a stopword test and a
# stem call. Bounded like stem's cache.
_TERMS: BoundedMemo[str, str] = BoundedMemo(_content_term, 200_000)

# What the term cache yields for tokens that are no content term of a sentence: stopwords and single
# characters map to "", and two-letter clitic tails ("ll", "ve", "re") keep their own spelling.
_NOT_SENTENCE_TERMS = frozenset({""} | _CLITICS)


def _ascii_content_term(token: bytes) -> str:
    """_content_term of a token given as its ASCII bytes."""
    return _TERMS[token.decode("ascii")]


# _TERMS keyed by the ASCII bytes of a token: term_set's fast path splits bytes, and skips decoding them.
_ASCII_TERMS: BoundedMemo[bytes, str] = BoundedMemo(_ascii_content_term, 200_000)
# A bytes.translate table that lower-cases the ASCII letters, makes each digit a NUL (a NUL in the result says
# the text holds a number) and every other byte a space, so that split() yields the lower-cased letter runs.
_LETTER_RUNS = bytes(c | 32 if 65 <= c <= 90 or 97 <= c <= 122 else 0 if 48 <= c <= 57 else 32 for c in range(256))
# _TOKEN on lower-cased ASCII text: letters-only classes, and no capturing group (findall then returns the
# matches as they are, a third faster than with a group).
_ASCII_WORDS = re.compile(r"[a-z]+|[0-9]+(?:[.,][0-9]+)*")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the event index compares: weighted content terms, name-like terms and word shingles."""

    terms: dict[str, float]  # content term → occurrence count (a title occurrence counts title_weight)
    entities: frozenset[str]  # content terms that were capitalised mid-sentence or in a title
    shingles: list[str]  # word n-grams of title + text (stopwords kept) for near-copy detection
    # Terms capitalised mid-sentence somewhere in the body: names, boosted as a whole term (so a name that
    # also opens a sentence keeps its boost). Title capitals are excluded: many feeds use Title Case.
    names: frozenset[str] = frozenset()
    # The distinct terms among the first lead_terms content terms of title + text (stemmed, in order of first
    # appearance): what the lead says.
    lead: tuple[str, ...] = ()
    has_body: bool = False  # the text (not just a title) had content terms
    # Content term → its occurrences in the body alone: how often the body repeats it (see body_repeat_weight
    # in tuning.py).
    body_counts: Mapping[str, int] = field(default_factory=dict)


def term_set(text: str) -> frozenset[str]:
    """The distinct stemmed content terms of a short text (a sentence or a title), cheaply."""
    folded = fold(text)
    # The set is built as the plain rule builds it, token by token in text order, then the non-terms taken
    # out: a set's iteration order depends on how it was built, and summaries sum weights in that order. In
    # ASCII text without a digit the tokens are the lower-cased letter runs, which one bytes.translate and
    # split find in order in a fifth of the regex's time (one pass for what lower(), a digit test and a
    # translate did in three: 274 k -> 250 k instructions for a benchmark article's sentences); a text with a
    # digit (a third of news sentences) takes the regex.
    if folded.isascii():
        runs = folded.encode("ascii").translate(_LETTER_RUNS)
        if b"\0" not in runs:
            return frozenset(map(_ASCII_TERMS.__getitem__, runs.split())) - _NOT_SENTENCE_TERMS
        tokens = _ASCII_WORDS.findall(folded.lower())
    else:
        tokens = _TOKEN.findall(folded.lower())
    # map() through the term cache: one C-level dict lookup per token instead of three tests and a stem.
    return frozenset(map(_TERMS.__getitem__, tokens)) - _NOT_SENTENCE_TERMS


def shingles(tokens: list[str], n: int) -> list[str]:
    """Word n-grams joined by spaces; a text shorter than n gives its whole token string."""
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    # zip of n shifted views (shorter ones end it early) builds every n-gram tuple in C, no index loop; the
    # unshifted view is the list itself, not a copy of it.
    return list(map(" ".join, zip(*(tokens[i:] if i else tokens for i in range(n)), strict=False)))


_URL_NOISE = _word_set(
    """
    http https www com org net html htm php asp aspx shtml story stories news article articles index
    amp rss feed feeds world local business sport sports entertainment tech technology uk us en id
    """
)
_URL_WORD = re.compile(r"[a-z]{3,}")


def url_terms(url: str) -> list[str]:
    """Words of a URL's path slug ("/2014/03/fed-plosser-taper.html" → fed, plosser, taper)."""
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].lower()
    return [stem(w) for w in _URL_WORD.findall(path) if w not in _URL_NOISE and w not in STOPWORDS]


def fingerprint(
    title: str,
    text: str,
    *,
    url: str = "",
    url_weight: float = 0.0,
    title_weight: float,
    shingle_size: int,
    max_chars: int,
    lead_terms: int = 0,
) -> Fingerprint:
    """Compute the comparison fingerprint of one article (text capped at max_chars for flat cost)."""
    text = text[:max_chars]
    title = title[:1000]
    title_words, title_caps = _scan(title) if title else ([], [])
    body_words, body_caps = _scan(text) if text else ([], [])
    term_of = _TERMS.__getitem__
    title_terms = list(map(term_of, title_words))
    body_terms = list(map(term_of, body_words))
    # Title occurrences first, then body ones: the insertion order (and so every later tie-break and
    # float sum over the terms) is the order of first appearance, title before body.
    terms: dict[str, float] = {}
    get = terms.get
    for term in title_terms:
        if term:
            terms[term] = get(term, 0.0) + title_weight
    # Stopwords ("", ≈ 42 % of the tokens) are filtered out rather than counted and then popped.
    body_counts = Counter(filter(None, body_terms))
    # float(n) is exactly 1.0 added n times. A term also in the title adds its body occurrences one at a
    # time, the same float sum as ever; the rest follow in body order.
    body = dict(zip(body_counts, map(float, body_counts.values()), strict=True))
    for term in [t for t in terms if t in body]:
        count = terms[term]
        for _ in range(body_counts[term]):
            count += 1.0
        terms[term] = count
        del body[term]
    terms.update(body)
    # Built in token order, skipping stopwords (""), so the sets iterate as they always have. A
    # capitalised mid-sentence token never starts with a digit, so every such term is a name candidate.
    names = set(filter(None, compress(body_terms, body_caps)))
    entities = set(filter(None, compress(title_terms, title_caps)))
    entities.update(names)  # only counted and intersected, so their order does not matter
    # In reading order, title first; URL words are no part of what the article itself says first.
    lead: tuple[str, ...] = ()
    if lead_terms > 0:
        lead = tuple(dict.fromkeys(islice(filter(None, chain(title_terms, body_terms)), lead_terms)))
    # URL words only supplement a text: an article with no content terms of its own is not matched by its
    # slug alone (two empty items at /empty and /empty2 are not one event).
    if url_weight > 0.0 and url and terms:
        for tok in url_terms(url):
            terms[tok] = get(tok, 0.0) + url_weight
    # A feed often repeats the title as the first line of the text; do not shingle it twice.
    all_words = body_words if body_words[: len(title_words)] == title_words else title_words + body_words
    return Fingerprint(
        terms=terms,
        entities=frozenset(entities),
        names=frozenset(names),
        shingles=shingles(all_words, shingle_size),
        lead=lead,
        has_body=bool(body_counts),
        body_counts=body_counts,
    )
