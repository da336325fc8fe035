"""Headlines and extractive summaries drawn from all of an event's articles, boilerplate excluded."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.fingerprint import term_set
from bot.core.sentences import split_sentences
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams

# Outlet furniture that must never reach a summary: (name, lower-case trigger words, pattern). A
# sentence matching any pattern is dropped; a line matching a LINE pattern is dropped whole (a photo
# caption ends in its credit). The triggers are cheap substring tests that let most sentences skip the
# regexes (case-insensitive regexes cost ~5-20 µs each on a news sentence).
_BOILERPLATE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "timestamp",
        ("published", "updated", "posted"),
        r"(?i)^\s*(published|updated|posted|last updated|first published)\s*:",
    ),
    # Case matters here: "By Monday, talks had…" is content, "By Jane Doe" a byline.
    ("byline", ("by ",), r"^\s*(?:By|BY)\s+[A-Z][\w.'’-]+(\s+[A-Z][\w.'’-]+){1,3}\s*(,|\||$|and\b)"),
    (
        "photo credit",
        ("photo", "picture", "image", "credit", "video"),
        r"\b(?i:photos?|pictures?|images?|credit|file photo|video)\s*:\s*[A-Z]",
    ),
    (
        "related link",
        ("read more", "related", "also read", "see also", "more on this", "watch", "listen"),
        r"(?i)^\s*(read more|related|also read|see also|more on this|watch|listen)\b\s*[:|>»-]",
    ),
    (
        "social prompt",
        ("join", "follow"),
        r"(?i)\b(join|follow)\s+(us|our|[\w’']+['’]s)\b.{0,40}\b(telegram|whatsapp|twitter|facebook|instagram|channel)",
    ),
    ("print note", ("a version of this",), r"(?i)\ba version of this (article|story) appeared in\b"),
    (
        "subscription",
        ("subscribe", "sign up"),
        r"(?i)\b(subscribe|sign up)\b.{0,30}\b(now|today|newsletter|free|to read|for)\b|\bsubscribe\s*$",
    ),
    ("copyright", ("copyright", "©", "(c)", "rights reserved"), r"(?i)(copyright|©|\(c\))\s*\d{4}|all rights reserved"),
    ("call to action", ("click here", "tap here", "download"), r"(?i)\b(click|tap) here\b|\bdownload (our|the) app\b"),
    (
        "agency footer",
        ("reporting by", "writing by", "editing by"),
        r"(?i)\b(reporting|writing|editing|additional reporting) by\b",
    ),
    ("url", ("http", "www.", ".com", ".htm"), r"(?i)https?:\s*/|www\.|\.com\b|\.html?\b"),
    (
        "advert",
        ("advertisement", "sponsored", "share", "tweet", "email", "print"),
        r"(?i)^\s*(advertisement|sponsored|share this( article| story)?|share|tweet|email|print)\s*$",
    ),
)
BOILERPLATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx)) for name, _, rx in _BOILERPLATE
)
_TRIGGERS = tuple((name, triggers, re.compile(rx)) for name, triggers, rx in _BOILERPLATE)
_ANY_TRIGGER = re.compile("|".join(re.escape(t) for _, triggers, _ in _BOILERPLATE for t in triggers))
_LINE_PATTERNS = frozenset({"photo credit", "timestamp", "related link", "print note", "url"})

# A wire dateline at the start of a lead: "SEOUL (Reuters) - ", "SEOUL • ", "WASHINGTON, March 3 (AP) —".
_DATELINE = re.compile(r"^[A-Z][A-Z .,'’-]{2,40}(?:,\s*\w+\.? \d{1,2})?\s*(?:\([^)]{1,30}\))?\s*[-–—•:]\s+")
# Apostrophes lost in transit ("China s", "It s", "don t"): such a variant is the least clean one.
_LOST_APOSTROPHE = re.compile(r"\b[A-Za-z]+ (s|t|re|ve|ll|d)\b(?![-'’])")
_TERMINAL = re.compile(r"""[.!?…]["'”’)\]]*$""")
_OUTLET_SUFFIX = re.compile(r"\s+[-|–—:]\s+([^-|–—]{2,60})$")


def boilerplate_kind(sentence: str) -> str | None:
    """The name of the boilerplate pattern a sentence matches, or None when it is real content."""
    low = sentence.lower()
    if _ANY_TRIGGER.search(low) is None:
        return None
    for name, triggers, rx in _TRIGGERS:
        if any(t in low for t in triggers) and rx.search(sentence):
            return name
    return None


_PRONOUN = r"(?:[Ii]|[Yy]ou|[Ww]e|[Tt]hey|[Hh]e|[Ss]he|[Ii]t|[Tt]hat|[Tt]here|[Ww]ho|[Ww]hat)"
_LOST_S = re.compile(r"\b([A-Za-z]+) s\b(?=[\s,.;:!?\"”]|$)")
_LOST_NT = re.compile(r"\b([A-Za-z]+n) t\b")
_LOST_PRONOUN = re.compile(rf"\b({_PRONOUN}) (re|ve|ll|d|m)\b")


def repair_apostrophes(s: str) -> str:
    """Put back apostrophes lost in transit: "China s" → "China's", "don t" → "don't", "they re" → "they're"."""
    if " s " not in s and " t " not in s and not _LOST_PRONOUN.search(s) and not s.endswith(" s"):
        return s
    s = _LOST_S.sub(r"\1's", s)
    s = _LOST_NT.sub(r"\1't", s)
    return _LOST_PRONOUN.sub(r"\1'\2", s)


def clean_sentence(s: str) -> str:
    """Tidy one sentence for display: dateline removed, apostrophes, tokeniser quotes and spacing repaired."""
    s = repair_apostrophes(s)
    s = s.replace("``", "“").replace("''", "”")
    s = re.sub(r"\s+([,.;:!?%])", r"\1", s)
    s = re.sub(r"“\s+", "“", s)
    s = re.sub(r"\s+”", "”", s)
    s = re.sub(r"\s+", " ", s).strip()
    return _DATELINE.sub("", s, count=1)


def cleanliness(s: str) -> float:
    """A penalty-based cleanliness score in [0, 1]: lost apostrophes, shouting, odd starts cost."""
    score = 1.0
    score -= 0.3 * min(3, len(_LOST_APOSTROPHE.findall(s)))
    if s.isupper():
        score -= 0.5
    if s and s[0].islower():
        score -= 0.3
    return max(0.0, score)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One content sentence of one article, ready to rank."""

    text: str  # cleaned for display
    terms: frozenset[str]
    article: int  # arrival order of its article within the event
    position: int  # index among that article's content sentences
    clean: float


def sentence_candidates(text: str, article: int, params: ClusterParams = DEFAULT_PARAMS) -> list[Candidate]:
    """The first few content sentences of an article's text, boilerplate and non-sentences left out."""
    out: list[Candidate] = []
    kept_lines: list[str] = []
    for line in text[: params.summary_scan_chars].splitlines():
        kind = boilerplate_kind(line)
        if kind in _LINE_PATTERNS:
            continue
        kept_lines.append(line)
    for raw in split_sentences("\n".join(kept_lines)):
        if len(out) >= params.summary_sentences_per_article:
            break
        # Lines without a full stop are headlines, standfirsts or related-story links, not facts.
        if len(raw) < 40 or len(raw) > 360 or not _TERMINAL.search(raw) or boilerplate_kind(raw) is not None:
            continue
        s = clean_sentence(raw)
        if len(s) < 40 or len(s) > 320:
            continue
        terms = term_set(s)
        if len(terms) < 4:
            continue
        # Cleanliness is judged on the text as received: a repaired sentence still loses to an intact one.
        out.append(Candidate(s, terms, article, len(out), cleanliness(raw)))
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two term sets."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _centrality(terms: frozenset[str], weights: Mapping[str, float]) -> float:
    """How much of the event's weight a sentence carries, normalised for its length."""
    if not terms:
        return 0.0
    return sum(weights.get(t, 0.0) for t in terms) / math.sqrt(len(terms))


def summarize(
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    params: ClusterParams = DEFAULT_PARAMS,
) -> str:
    """One to three central sentences (≤ summary_max_chars), cleanest variant of each, no repeats."""
    if not candidates:
        return ""
    ranked = sorted(
        candidates,
        key=lambda c: (_centrality(c.terms, weights) * (1.0 + 0.5 / (1 + c.position)), -c.article),
        reverse=True,
    )[:24]
    # Group outlets' variants of one sentence; the group's support (distinct articles) says how
    # central the fact is, and the display text is the cleanest variant.
    groups: list[list[Candidate]] = []
    for c in ranked:
        for g in groups:
            if _jaccard(c.terms, g[0].terms) >= params.summary_dup_jaccard:
                g.append(c)
                break
        else:
            groups.append([c])

    def group_score(g: list[Candidate]) -> float:
        support = len({c.article for c in g})
        head = g[0]
        lead = 1.0 + 0.5 / (1 + min(c.position for c in g))
        return _centrality(head.terms, weights) * lead * (1.0 + 0.25 * (support - 1))

    chosen: list[tuple[tuple[int, int], str]] = []
    total = 0
    for g in sorted(groups, key=group_score, reverse=True):
        best = max(g, key=lambda c: (c.clean, -c.article, -len(c.text)))
        order = min((c.position, c.article) for c in g)
        text = best.text
        if total + len(text) + (1 if chosen else 0) > params.summary_max_chars:
            if chosen:
                continue
            text = _truncate(text, params.summary_max_chars)
        chosen.append((order, text))
        total += len(text) + 1
        if len(chosen) >= params.summary_max_sentences:
            break
    # Present in reading order: the earliest position at which any outlet carries each sentence.
    chosen.sort(key=lambda ct: ct[0])
    return " ".join(text for _, text in chosen)


def _truncate(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


def clean_title(title: str, outlet: str) -> str:
    """A title without its outlet suffix ("… - Reuters") and with tidy spacing."""
    t = re.sub(r"\s+", " ", title).strip()
    m = _OUTLET_SUFFIX.search(t)
    if m and outlet and m.group(1).strip().lower() in {outlet.lower(), outlet.lower().removeprefix("the ")}:
        t = t[: m.start()].rstrip()
    return t


def headline(
    titles: Sequence[tuple[str, str]],
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    params: ClusterParams = DEFAULT_PARAMS,
) -> str:
    """The best of the outlets' (title, outlet) pairs, else a clean lead sentence, else empty."""
    best: tuple[float, str] | None = None
    for i, (title, outlet) in enumerate(titles):
        t = clean_title(title, outlet)
        if not t:
            continue
        terms = term_set(t)
        score = _centrality(terms, weights) + cleanliness(t)
        if len(t) < 20 or len(t) > params.headline_max_chars:
            score -= 0.5
        score -= 0.01 * i  # earlier reports win ties: the alert's headline should rarely flip
        if best is None or score > best[0]:
            best = (score, t)
    if best is not None:
        return _truncate(best[1], params.headline_max_chars)
    leads = sorted(candidates, key=lambda c: (c.article, c.position, -c.clean))
    if leads:
        return _truncate(leads[0].text.rstrip("."), params.headline_max_chars)
    return ""
