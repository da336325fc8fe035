"""Text normalisation for comparison: folded tokens, content terms, entities and word shingles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Quote and dash variants outlets use for the same text; folding them first means a curly-quoted
# reprint and a straight-quoted wire copy tokenise identically.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


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


_LATIN = _latin_fold_table()

_PERCENT = re.compile(r"\bper\s+cent\b|%", re.IGNORECASE)
# A token is a number (keeping decimals and thousands separators together) or a run of letters;
# apostrophes and hyphens split, which makes "Jong-un", "Jong Un" and "China's"/"China s" agree.
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_BOUNDARY_CHARS = frozenset('.!?:\n"')
# The separator before each token is kept: it tells sentence starts and split apostrophes apart.
_GAP_TOKEN = re.compile(r"([^0-9A-Za-z\u00c0-\uffff]*)([0-9]+(?:[.,][0-9]+)*|[^\W\d_]+)")


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


def fold(text: str) -> str:
    """Fold quotes, dashes, accents and 'per cent' so that outlets' variants of one text compare equal."""
    text = text.translate(_FOLD)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_LATIN)
    return _PERCENT.sub(" percent ", text)


def _cjk_bigrams(run: str) -> list[str]:
    """Split a CJK run into character bigrams: the usual unit when there are no spaces between words."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def raw_tokens(text: str) -> list[tuple[str, bool]]:
    """Tokens of folded text, each with whether it was capitalised mid-sentence (a likely name)."""
    out: list[tuple[str, bool]] = []
    append = out.append
    first = True
    for gap, tok in _GAP_TOKEN.findall(fold(text)):
        low = tok.lower()
        if low in _CLITICS and out and 0 < len(gap) <= 2 and gap[0] in "' ":
            # "don t" / "don't" → "dont"; "China s" / "China's" → "china" (possessive dropped).
            if low == "t":
                out[-1] = (out[-1][0] + "t", out[-1][1])
            continue
        if not tok.isascii() and _CJK.search(tok):
            out.extend((b, False) for b in _cjk_bigrams(low))
            first = False
            continue
        # A capital after sentence punctuation or a line break says nothing about being a name.
        cap = tok[0].isupper() and not first and not _BOUNDARY_CHARS.intersection(gap)
        append((low, cap))
        first = False
    return out


def words(text: str) -> list[str]:
    """Lower-cased folded word tokens of a text, stopwords included (the basis of shingles)."""
    return [t for t, _ in raw_tokens(text)]


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


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the event index compares: weighted content terms, name-like terms and word shingles."""

    terms: dict[str, float]  # content term → occurrence count (a title occurrence counts title_weight)
    entities: frozenset[str]  # content terms that were capitalised mid-sentence or in a title
    shingles: list[str]  # word n-grams of title + text (stopwords kept) for near-copy detection
    n_words: int
    # Terms capitalised mid-sentence somewhere in the body: names, boosted as a whole term (so a name that
    # also opens a sentence keeps its boost). Title capitals are excluded: many feeds use Title Case.
    names: frozenset[str] = frozenset()


def content_terms(text: str) -> list[tuple[str, bool]]:
    """Stemmed non-stopword tokens with their name flag (single letters and lone digits dropped)."""
    out: list[tuple[str, bool]] = []
    for tok, cap in raw_tokens(text):
        if len(tok) < 2 or tok in STOPWORDS:
            continue
        out.append((stem(tok), cap))
    return out


def term_set(text: str) -> frozenset[str]:
    """The distinct stemmed content terms of a short text (a sentence or a title), cheaply."""
    return frozenset(
        stem(t) for t in _TOKEN.findall(fold(text).lower()) if len(t) > 1 and t not in STOPWORDS and t not in _CLITICS
    )


def shingles(tokens: list[str], n: int) -> list[str]:
    """Word n-grams joined by spaces; a text shorter than n gives its whole token string."""
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


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
) -> Fingerprint:
    """Compute the comparison fingerprint of one article (text capped at max_chars for flat cost)."""
    text = text[:max_chars]
    title = title[:1000]
    terms: dict[str, float] = {}
    entities: set[str] = set()
    names: set[str] = set()
    title_toks = raw_tokens(title) if title else []
    body_toks = raw_tokens(text) if text else []
    for toks, base, in_body in ((title_toks, title_weight, False), (body_toks, 1.0, True)):
        for tok, cap in toks:
            if len(tok) < 2 or tok in STOPWORDS:
                continue
            tok = stem(tok)
            terms[tok] = terms.get(tok, 0.0) + base
            if cap and not tok[0].isdigit():
                entities.add(tok)
                if in_body:
                    names.add(tok)
    if url_weight > 0.0 and url:
        for tok in url_terms(url):
            terms[tok] = terms.get(tok, 0.0) + url_weight
    title_words = [t for t, _ in title_toks]
    body_words = [t for t, _ in body_toks]
    # A feed often repeats the title as the first line of the text; do not shingle it twice.
    all_words = body_words if body_words[: len(title_words)] == title_words else title_words + body_words
    return Fingerprint(
        terms=terms,
        entities=frozenset(entities),
        names=frozenset(names),
        shingles=shingles(all_words, shingle_size),
        n_words=len(all_words),
    )
