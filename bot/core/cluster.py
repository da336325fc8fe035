"""The streaming event index: duplicates, reprints (MinHash), same-event reports and follow-ups."""

from __future__ import annotations

import hashlib
import heapq
import math
from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from itertools import compress, repeat
from operator import add, ge, itemgetter, mul, not_, sub, truediv

import numpy as np
from rensa import RMinHash

from bot.core.anchors import NO_ANCHORS, Anchors, find_anchors
from bot.core.fingerprint import Fingerprint, fingerprint
from bot.core.memo import BoundedMemo
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article, Assignment

# Fixed so that signatures, and therefore replays, are identical across runs and machines.
_MINHASH_SEED = 20171026

# The array typecode of 4-byte unsigned ints ("I" on every common platform; C leaves its size open).
_UINT32 = next(code for code in "IL" if array(code).itemsize == 4)

_first = itemgetter(0)
_second = itemgetter(1)  # sort key of (term, weight) pairs


def _tf_factor(count: float) -> float:
    """A term count's tf factor, 1 + log(count); counts must be positive."""
    return 1.0 + math.log(count)


# Term count → its tf factor. Counts are whole numbers or sums of the title and URL weights, so few distinct ones
# occur; bounded like the term caches all the same. Against a per-text set of counts and a log per distinct one,
# ≈ 10 % of the weighting's own time.
_TF: BoundedMemo[float, float] = BoundedMemo(_tf_factor, 10_000)


def event_id_for(article_id: str) -> str:
    """The deterministic event id of an event first reported by this article."""
    return "ev-" + hashlib.blake2b(article_id.encode("utf-8"), digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class _Signature:
    """A text's MinHash signature: what estimates its shingle Jaccard to another text's."""

    # The signature's num_perm 32-bit values in one int (value i in bits 32i to 32i+31): two signatures are
    # compared word by word with a few whole-int operations (see _agreeing_values), no array made.
    digest: int
    # Fewer shingles than reprint_min_shingles: too coarse an estimate, so a reprint must be identical.
    short: bool


@dataclass(slots=True)
class _Member:
    """One article held by the index: enough to verify a reprint and to forget it on eviction."""

    article_id: str
    url: str
    event_id: str
    # Its MinHash signature packed into one int (_Signature.digest: 536 bytes), None for an empty text.
    digest: int | None
    short: bool  # its signature's: a reprint of it must be identical
    # Its n_posted strongest terms, under which it sits in the inverted index, then all its distinct terms,
    # counted into the document frequencies while it is held. One tuple, not two: a tuple's header costs
    # what seven more terms do, and ordering the terms to hold each once cost 7 µs an article.
    terms: tuple[str, ...]
    n_posted: int


_NO_ENTRIES = array("q")
_NO_WEIGHTS = array("d")
# A posting entry packs the article's event number above its member key. Both are counters from 0, and
# there are never more events than articles: below 2**31 each (see _prepare), an entry is a
# non-negative int64 and entries order as (event, key) pairs do.
_KEY_BITS = 32
_KEY_MASK = (1 << _KEY_BITS) - 1
_MAX_MEMBERS = 1 << 31


def _entry(num: int, key: int) -> int:
    """The posting entry of member `key` of event number `num`."""
    return num << _KEY_BITS | key


class _Posting:
    """The articles filed under one term, oldest first: (event, member) entries and the articles' weights.

    Flat typed arrays rather than a dict of float objects: a look-up scores a whole list with numpy over
    their buffers (no copying, no per-entry Python), which is what keeps assign flat as the index grows.
    Two arrays, not one each for keys and events: most lists hold one or two articles, and each array
    costs its header and spare room (a posting of one article: 287 bytes instead of 400).
    """

    __slots__ = ("entries", "weights")

    def __init__(self) -> None:
        # Copies of empty arrays: a third of the time of array(typecode), and five postings start per article.
        self.entries = _NO_ENTRIES.__copy__()
        self.weights = _NO_WEIGHTS.__copy__()

    def __len__(self) -> int:
        return len(self.entries)

    def pop_oldest(self) -> None:
        """Forget the oldest article filed under the term."""
        del self.entries[0], self.weights[0]

    def remove(self, entry: int) -> None:
        """Forget one article's entry, if it is still filed here (the cap may have pushed it out already)."""
        try:
            i = self.entries.index(entry)
        except ValueError:
            return
        del self.entries[i], self.weights[i]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One article made ready for the index (counted into the document frequencies): all its parts."""

    article: Article
    t: datetime  # its time on the index's clock
    fp: Fingerprint
    sig: _Signature | None
    # Its strongest max_article_terms terms, unit tf-idf weights with repeats counted: what its event's centroid
    # sums (the event's profile: what its reports dwell on) ...
    strongest: dict[str, float]
    # ... the same terms weighed as it is compared with events' centroids (see _comparison_vector) ...
    vec: dict[str, float]
    # ... and strongest's items, strongest first (ties in vector order): the look-up's and postings' weights.
    ranked: list[tuple[str, float]]
    name_w: dict[str, float]  # body names → weight: the strongest is who it is about
    lead: dict[str, float]  # unit tf-idf vector of its lead terms
    anchors: Anchors


@dataclass(slots=True)
class _Event:
    """The index's view of one event: an idf-weighted centroid, its names and its time span."""

    id: str
    num: int  # small integer standing for the event in posting lists
    first: datetime
    last: datetime
    centroid: dict[str, float] = field(default_factory=dict)
    norm2: float = 0.0
    entities: set[str] = field(default_factory=set)
    # Body names → their summed (1 + k·log tf)·idf weights over members (name_repeat_weight), and the strongest
    # one: who the event is about.
    names: dict[str, float] = field(default_factory=dict)
    top_name: str = ""
    members: list[int] = field(default_factory=list)  # member keys
    # Sum of the members' unit lead vectors (their lead terms' weights, see _prepare), capped like the
    # centroid, and its squared norm.
    lead: dict[str, float] = field(default_factory=dict)
    lead_norm2: float = 0.0
    # Dates and quantities its members state (bounded: the first reports carry the event's own). A shared empty
    # frozenset until a member states one: most events never do (all 2,613 of the benchmark's 5,000 full texts),
    # and two empty sets cost 432 bytes an event, 0.22 KiB an article there.
    dates: set[int] | frozenset[int] = frozenset()
    quantities: set[tuple[str, float]] | frozenset[tuple[str, float]] = frozenset()


class EventIndex:
    """Assigns each arriving article to an event; candidate look-ups go through an inverted index of terms."""

    def __init__(self, params: ClusterParams = DEFAULT_PARAMS) -> None:
        self.params = params
        # Signature → the members with it (a key, or the keys oldest first when copies share it, which is rare):
        # a word-for-word copy is found however common its words.
        self._by_digest: dict[int, int | list[int]] = {}
        # Per 32-bit value of a packed signature: its low 31 bits set, and its top bit set.
        self._low_bits = int.from_bytes(b"\xff\xff\xff\x7f" * params.num_perm, "little")
        self._top_bits = int.from_bytes(b"\x00\x00\x00\x80" * params.num_perm, "little")
        self._members: dict[int, _Member] = {}
        self._next_key = 0
        self._by_id: dict[str, str] = {}
        self._by_url: dict[str, str] = {}
        self._events: dict[str, _Event] = {}
        # term → the articles filed under it with their weight for it, oldest first. Carrying the weights
        # lets one pass over the article's strongest terms score every candidate article at once.
        self._postings: dict[str, _Posting] = {}
        self._by_num: dict[int, _Event] = {}
        self._next_num = 0
        # Document frequencies over the articles held, not all ever seen: an evicted article's terms are
        # counted out again. A restart restores the held events, so the restarted index counts the same
        # articles and weighs new ones as the running one would (the restored articles themselves are weighed
        # again, by the counts of those restored before them); and a bot that runs for months keeps a
        # bounded vocabulary, weighted by the news of its retention window.
        self._df: Counter[str] = Counter()
        self._n_docs = 0
        # log(d + idf_smoothing) for every document frequency d in 0..n_docs: idf(d) is then
        # 1 + log(n_docs + 1 + k) − log(d + k), one look-up per term instead of one log per distinct d.
        # A flat array of doubles, 8 bytes per article of the most ever held at once.
        self._log_df = array("d", [math.log(params.idf_smoothing)])
        # Count → 1 + k·log(count), k = name_repeat_weight: a name's factor in who an article is about.
        k = params.name_repeat_weight
        self._name_tf: BoundedMemo[float, float] = BoundedMemo(lambda count: 1.0 + k * math.log(count), 10_000)
        self._expiry: list[tuple[datetime, str]] = []  # lazy min-heap of (last member time, event id)
        self._evicted: list[str] = []  # evicted since the last drain_evicted()

    # --- public API --------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of articles currently held."""
        return len(self._members)

    @property
    def n_events(self) -> int:
        """Number of events currently held."""
        return len(self._events)

    def event_of(self, article_id: str) -> str | None:
        """The event an article id was assigned to, if it is still held."""
        return self._by_id.get(article_id)

    def centroid(self, event_id: str) -> Mapping[str, float]:
        """The idf-weighted term centroid of an event (empty when unknown): what summaries rank against."""
        ev = self._events.get(event_id)
        return ev.centroid if ev is not None else {}

    def term_weights(self, title: str, text: str) -> dict[str, float]:
        """Unit-length tf-idf weights of a text as a centroid sums them, without URL words (frequencies not updated)."""
        fp = self._fingerprint(title, text)
        return self._unit_vector(self._boosted(self._raw_weights(fp.terms), fp.names))

    def assign(self, article: Article, now: datetime) -> Assignment:
        """Place one article: duplicate, reprint, same_event or new_event (with follows when it continues one)."""
        self.evict(now)
        p = self.params
        known = self._held(article)
        if known is not None:
            return Assignment(article.id, known, "duplicate", score=1.0)

        a = self._prepare(article, now)
        t, fp, vec, name_w, anchors = a.t, a.fp, a.vec, a.name_w, a.anchors
        top_name = max(name_w, key=lambda k: (name_w[k], k)) if name_w else ""

        scored, closest = self._candidates(a.ranked)
        best_reprint, reprint_j = self._find_reprint(a.sig, closest)
        if best_reprint is not None and not fp.has_body and t - self._events[best_reprint].last > p.quiet_window:
            # A headline-only copy of a headline in a closed event is a recurring title ("Stocks close
            # higher"), not a reprint: it goes through the open-event test like any headline. UCI B3 F1
            # 0.795 → 0.823 (identical headlines rejoining closed events chained stories); ECB+ unchanged.
            best_reprint = None
        if best_reprint is not None:
            ev = self._events[best_reprint]
            self._add_member(ev, a)
            return Assignment(article.id, ev.id, "reprint", score=round(reprint_j, 4))

        # Centroid cosines are computed only for the candidates a test below reaches (the tests run in an
        # order that skips closed, conflicting and too-recent events first; the outcome is the same).
        cosines: list[float | None] = [None] * len(scored)
        best: tuple[float, _Event] | None = None
        quiet = p.quiet_window
        threshold = self._same_event_threshold(len(fp.terms))
        mix = p.lead_weight if fp.has_body else 0.0
        for i, (ev, cos_m) in enumerate(scored):
            if t - ev.last > quiet:
                continue  # closed: nothing new for a whole quiet window
            if self._names_conflict(top_name, fp, ev):
                continue  # about someone (or somewhere) else: a lookalike event, however similar the wording
            cos_c = cosines[i] = self._centroid_cosine(vec, ev)  # unmixed: what the follow-up test uses
            # Dates and quantities both state: shared ones raise both scores, contradicting ones lower them.
            delta = self._anchor_delta(anchors, ev) if anchors is not NO_ANCHORS else 0.0
            if mix > 0.0:
                # A lead cosine is at most 1: skip it where even a perfect one could neither make the event
                # join nor rank it first (the margin covers rounding; the outcome is the same).
                bound = (1.0 - mix) * cos_c + mix + 1e-9
                if cos_m + delta < p.member_cosine and bound + delta < threshold:
                    continue
                if best is not None and max(bound, cos_m) + delta <= best[0]:
                    continue
                if cos_m >= p.member_cosine and cos_m >= bound:
                    cos_c = 0.0  # joins on the member cosine, which is the score
                else:
                    cos_c = (1.0 - mix) * cos_c + mix * self._lead_cosine(a.lead, ev)
            if delta:
                cos_c += delta
                cos_m += delta
            # Headline-only items rank joinable events by centroid cosine: a headline's member cosine
            # rests on one or two shared words (UCI B3 F1 0.797 → 0.823; ranking by max(centroid, member)
            # stays for full texts: centroid-only ranking there cost ECB+ 0.001).
            score = max(cos_c, cos_m) if fp.has_body else cos_c
            joins = cos_c >= threshold or cos_m >= p.member_cosine
            if joins and fp.has_body and cos_m < p.member_cosine and self._rests_on_one_term(vec, ev):
                joins = False  # a centroid join that rests on a single shared word
            if joins and (best is None or score > best[0]):
                best = (score, ev)
        if best is not None:
            self._add_member(best[1], a)
            return Assignment(article.id, best[1].id, "same_event", score=round(best[0], 4))

        follows: str | None = None
        follow_score = 0.0
        for i, (ev, cos_m) in enumerate(scored):
            if t - ev.first < p.follow_min_gap or len(fp.entities & ev.entities) < p.follow_min_entities:
                continue  # a lookalike in the same news cycle, or not the same actors
            cached = cosines[i]
            cos_c = self._centroid_cosine(vec, ev) if cached is None else cached
            score = max(cos_c, cos_m)
            if score >= p.follow_cosine and score > follow_score:
                follows, follow_score = ev.id, score
        ev = self._new_event(event_id_for(article.id), t)
        self._add_member(ev, a)
        return Assignment(article.id, ev.id, "new_event", follows=follows, score=round(follow_score, 4))

    def restore(self, article: Article, event_id: str, now: datetime) -> None:
        """Put back an article already assigned (from the store, after a restart) without re-deciding.

        One that assign() called a duplicate (its id or URL held already) is left out, as assign() left it.
        """
        if self._held(article) is not None:
            return
        a = self._prepare(article, now)
        ev = self._events.get(event_id)
        if ev is None:
            ev = self._new_event(event_id, a.t)
        self._add_member(ev, a)

    def evict(self, now: datetime) -> list[str]:
        """Forget events whose last member is older than the retention window; returns their ids."""
        cutoff = now - self.params.retention
        gone: list[str] = []
        while self._expiry and self._expiry[0][0] < cutoff:
            last, eid = heapq.heappop(self._expiry)
            ev = self._events.get(eid)
            if ev is None or ev.last != last:
                continue  # stale heap entry: the event grew since, or is already gone
            self._drop_event(ev)
            gone.append(eid)
        self._evicted.extend(gone)
        return gone

    def drain_evicted(self) -> list[str]:
        """Ids of events evicted since the last call (assign evicts as it goes)."""
        out, self._evicted = self._evicted, []
        return out

    # --- internals ---------------------------------------------------------------------------------

    def _held(self, article: Article) -> str | None:
        """The held event that already has this article, by id or by URL: what makes it a duplicate."""
        known = self._by_id.get(article.id) or (self._by_url.get(article.url) if article.url else None)
        return known if known is not None and known in self._events else None

    def _same_event_threshold(self, n_terms: int) -> float:
        """The centroid cosine needed to join: lower for headlines, whose vectors are sparse, and for long texts.

        Headline-length texts ramp up to same_event_cosine, and texts beyond long_text_terms ramp down again to
        full_text_cosine (see tuning.py for why).
        """
        p = self.params
        if n_terms <= p.short_text_terms:
            return p.short_event_cosine
        if n_terms < p.long_text_terms:
            frac = (n_terms - p.short_text_terms) / (p.long_text_terms - p.short_text_terms)
            return p.short_event_cosine + frac * (p.same_event_cosine - p.short_event_cosine)
        if n_terms >= p.full_text_terms:
            return p.full_text_cosine
        frac = (n_terms - p.long_text_terms) / (p.full_text_terms - p.long_text_terms)
        return p.same_event_cosine + frac * (p.full_text_cosine - p.same_event_cosine)

    def _article_time(self, article: Article, now: datetime) -> datetime:
        """The article's publication time, or the clock when missing or implausibly in the future."""
        pub = article.published
        if pub is None or pub > now + self.params.future_tolerance:
            return now
        return pub

    def _fingerprint(self, title: str, text: str, url: str = "") -> Fingerprint:
        """Fingerprint with this index's parameters."""
        p = self.params
        return fingerprint(
            title,
            text,
            url=url,
            url_weight=p.url_weight,
            title_weight=p.title_weight,
            shingle_size=p.shingle_size,
            max_chars=p.max_chars,
            lead_terms=p.lead_terms if p.lead_weight > 0.0 else 0,
        )

    def _signature(self, fp: Fingerprint) -> _Signature | None:
        """The packed MinHash signature of the shingle set, and whether it is short (None for an empty text)."""
        if not fp.shingles:
            return None
        mh = RMinHash(num_perm=self.params.num_perm, seed=_MINHASH_SEED)
        mh.update(fp.shingles)
        # Through array, not numpy: a list of ints converts in half the time (4.7 against 8.2 µs).
        short = len(fp.shingles) < self.params.reprint_min_shingles
        return _Signature(int.from_bytes(array(_UINT32, mh.digest()).tobytes(), "little"), short)

    def _find_reprint(self, sig: _Signature | None, closest: list[int]) -> tuple[str | None, float]:
        """The held event containing the closest near-copy of this text, with its estimated Jaccard.

        closest: the member keys the term index ranks nearest (see _candidates), whose signatures are
        compared with this one's, unless a held article has the very same signature: no other scores more.
        """
        if sig is None:
            return None, 0.0
        p = self.params
        filed = self._by_digest.get(sig.digest)
        if filed is not None:
            same = self._members[filed if isinstance(filed, int) else filed[-1]]  # the newest
            return same.event_id, 1.0
        mine, low, top = sig.digest, self._low_bits, self._top_bits
        best: str | None = None
        best_j = 0.0
        for key in closest:
            m = self._members.get(key)
            if m is None or m.digest is None:
                continue
            j = _agreeing_values(mine, m.digest, low, top) / p.num_perm
            # Short texts (headlines) only count as reprints when identical: a few shingles make
            # the estimate too coarse to tell an edited copy from a different headline.
            need = 0.999 if sig.short or m.short else p.reprint_jaccard
            if j >= need and j > best_j and m.event_id in self._events:
                best, best_j = m.event_id, j
        return best, best_j

    def _count_terms(self, terms: Mapping[str, float]) -> None:
        """Update document frequencies with one article's terms."""
        self._n_docs += 1
        if len(self._log_df) <= self._n_docs:
            self._log_df.append(math.log(self._n_docs + self.params.idf_smoothing))
        self._df.update(terms.keys())  # Counter counts an iterable in C

    def _uncount_terms(self, terms: tuple[str, ...]) -> None:
        """Take a forgotten article's terms out of the document frequencies."""
        self._n_docs -= 1
        df = self._df
        # The look-ups, subtractions and stores run in C (dict.update sets; Counter.update would add); only
        # the terms no held article has any more are deleted one by one. Half the cost of a plain loop.
        left = list(map(sub, map(df.__getitem__, terms), repeat(1)))
        dict.update(df, zip(terms, left, strict=True))
        for term in compress(terms, map(not_, left)):
            del df[term]

    def _idf_base(self) -> float:
        """1 + log(n_docs + 1 + k): idf(d) is this minus log(d + k)."""
        return 1.0 + math.log(self._n_docs + 1 + self.params.idf_smoothing)

    def _prepare(self, article: Article, now: datetime) -> _Prepared:
        """Fingerprint, sign, count and weigh one article: what assign() decides with and restore() files."""
        if self._next_key >= _MAX_MEMBERS:
            # Two billion articles since the index was made (a restart makes a new one): decades of polling.
            # Refused before the article is counted, so the document frequencies stay those of the members.
            raise OverflowError("the event index has taken 2**31 articles; restart to rebuild it from the store")
        fp = self._fingerprint(article.title, article.text, article.url)
        sig = self._signature(fp)
        self._count_terms(fp.terms)
        raw = self._raw_weights(fp.terms)
        boosted = self._boosted(raw, fp.names)
        strongest = self._unit_vector(boosted)
        vec = self._comparison_vector(strongest, fp)
        # Names weighted (1 + k·log tf)·idf, k = name_repeat_weight: the strongest is who it is about. In the order
        # the text first names them, not the set's (which changes with PYTHONHASHSEED): an event keeps a bounded
        # number of names, and which ones fit must not vary from run to run.
        names, counts, name_tf = fp.names, fp.terms, self._name_tf
        name_w = {t: w * name_tf[c] / _TF[c] for t, w in raw.items() if t in names and (c := counts[t]) >= 1.0}
        # The lead's terms keep the weights the whole text gives them (so also the name boost), uncut: one look-up
        # a term, where weighing them again by their counts within the lead took ≈ 39 µs an article (Counter,
        # document frequencies and name boost a second time) against ≈ 21. Quality: see lead_weight in tuning.py.
        lead = _normalised({t: boosted[t] for t in fp.lead if t in boosted}) if fp.lead else {}
        return _Prepared(
            article=article,
            t=self._article_time(article, now),
            fp=fp,
            sig=sig,
            strongest=strongest,
            vec=vec,
            # Strongest first, ties in vector order (what heapq.nlargest gives): both the look-up and the
            # posting take a prefix of this one ranking.
            ranked=_strongest_first(strongest),
            name_w=name_w,
            lead=lead,
            anchors=self._event_anchors(article, fp),
        )

    def _names_conflict(self, top_name: str, fp: Fingerprint, ev: _Event) -> bool:
        """True when the article's strongest name is absent from the event and the event's from the article.

        ECB+ lookalike events share topic words and often most background names but differ in their main
        actor or place (Klitschko beats Rahman / Thompson). Pairs within an ECB+ topic, each name looked for among
        the other report's terms: this flags 63 % of different-event pairs and 7 % of same-event pairs (one side's
        top name missing is common, both rare; tuning.py, name_repeat_weight).
        """
        if not top_name or not ev.top_name:
            return False
        return top_name not in ev.centroid and ev.top_name not in fp.terms

    def _event_anchors(self, article: Article, fp: Fingerprint) -> Anchors:
        """The dates and quantities the article's body states, less dates near its own publication day.

        Headlines give none (too terse to be reliable; from titles too, UCI B3 F1 0.823 → 0.819). An
        undated article keeps all its dates: the clock at arrival and at a restart differ, and restore()
        must rebuild what assign() decided with.
        """
        if not fp.has_body:
            return NO_ANCHORS
        found = find_anchors(article.text, fp.terms)  # reads at most max_chars, keeps max_event_anchors
        if not found.dates or article.published is None:
            return found
        day, near = article.published.toordinal(), self.params.dateline_days
        dates = frozenset(d for d in found.dates if abs(d - day) > near)
        if len(dates) == len(found.dates):
            return found
        return Anchors(dates, found.quantities) if dates or found.quantities else NO_ANCHORS

    def _anchor_delta(self, anchors: Anchors, ev: _Event) -> float:
        """Score change from the dates and quantities an article and an event both state.

        A date within anchor_date_days of one the event's reports named is the same happening's date:
        + anchor_date_bonus. A kind of quantity (money, magnitude, dead, hurt) both state with no value in
        common is a different happening (a 5.6 quake is not the 6.1 one): − anchor_quantity_penalty. Dates
        that differ are not penalised: reports of one event also name earlier and planned dates.
        """
        p = self.params
        delta = 0.0
        if anchors.dates and ev.dates:
            # Set look-ups around each of the article's dates (both sides hold at most max_event_anchors).
            near = range(-p.anchor_date_days, p.anchor_date_days + 1)
            if any(d + k in ev.dates for d in anchors.dates for k in near):
                delta += p.anchor_date_bonus
        mine = anchors.quantities
        if mine and ev.quantities and mine.isdisjoint(ev.quantities):
            kinds = {kind for kind, _ in ev.quantities}
            if any(kind in kinds for kind, _ in mine):
                delta -= p.anchor_quantity_penalty
        return delta

    def _raw_weights(self, terms: Mapping[str, float]) -> dict[str, float]:
        """Each term's (1 + log tf)·idf under the current document frequencies; non-positive counts left out."""
        counts = list(terms.values())
        if not counts:
            return {}
        freqs = list(map(self._df.get, terms, repeat(0)))
        # The tf factors come from a table by count (a few distinct counts, 1, 2 …, recur in every text)
        # and the idf from the table of log(d + k); the per-term products run in C.
        idfs = list(map(sub, repeat(self._idf_base()), map(self._log_df.__getitem__, freqs)))
        if min(counts) > 0.0:
            return dict(zip(terms, map(mul, map(_TF.__getitem__, counts), idfs), strict=True))
        # A zero or negative count (a zero title weight): such terms are left out.
        return {t: _TF[c] * i for t, c, i in zip(terms, counts, idfs, strict=True) if c > 0}

    def _boosted(self, raw: Mapping[str, float], names: frozenset[str]) -> dict[str, float]:
        """A copy of raw weights with the names' multiplied by entity_weight, in raw's order."""
        weights = dict(raw)
        boost = self.params.entity_weight
        for t in names:
            w = raw.get(t)
            if w is not None:
                weights[t] = w * boost  # in place: the order stays that of first appearance
        return weights

    def _comparison_vector(self, strongest: dict[str, float], fp: Fingerprint) -> dict[str, float]:
        """The unit vector an article is compared with events by: strongest's terms, body repeats at body_repeat_weight.

        strongest (the unit vector of the max_article_terms strongest terms, repeats counted) stays what the look-up,
        the posting lists and the event's centroid take; only the weights change here.
        """
        k = self.params.body_repeat_weight
        if k == 1.0:
            return strongest
        counts, drop, tf = fp.terms, 1.0 - k, _TF
        # The body counts of strongest's terms are looked up in C; a median 13 of a benchmark full text's 64 are
        # repeated. The merge keeps strongest's order, the changed weights replacing theirs in place.
        body = zip(strongest, map(fp.body_counts.get, strongest, repeat(0)), strict=True)
        scaled = {t: strongest[t] * (tf[counts[t] - drop * (n - 1)] / tf[counts[t]]) for t, n in body if n > 1}
        return _normalised(strongest | scaled) if scaled else strongest

    def _unit_vector(self, weights: dict[str, float]) -> dict[str, float]:
        """Unit vector of weights cut to the strongest max_article_terms."""
        cap = self.params.max_article_terms
        if len(weights) > cap:
            weights = dict(sorted(weights.items(), key=_second, reverse=True)[:cap])
        return _normalised(weights)

    @staticmethod
    def _lead_cosine(lead: Mapping[str, float], ev: _Event) -> float:
        """Cosine of an article's lead vector to an event's summed lead vectors."""
        if not lead or ev.lead_norm2 <= 0.0:
            return 0.0
        return sum(map(mul, lead.values(), map(ev.lead.get, lead, repeat(0.0)))) / math.sqrt(ev.lead_norm2)

    def _candidates(self, ranked: list[tuple[str, float]]) -> tuple[list[tuple[_Event, float]], list[int]]:
        """Events of the articles sharing this one's strongest terms, with their best member cosine, and the
        keys of the reprint_max_verify closest articles.

        The member cosine is the dot product restricted to both articles' strongest terms (query_terms
        of this one, posting_terms of the held one): those carry most of each unit vector's weight.
        At most max_candidates events, best member first; ties in the order the events first appear in
        the posting lists (strongest term first, oldest article first). The closest articles are those with
        a member cosine of at least reprint_min_cosine, best first, ties by (event, key).
        """
        p = self.params
        postings = self._postings
        hits = [(post, w) for term, w in ranked[: p.query_terms] if (post := postings.get(term)) is not None]
        if not hits:
            return [], []
        # Every (article, term) hit in look-up order, gathered from the lists' buffers in C. numpy then
        # does per list what a dict loop did per entry, with the same float operations in the same order
        # (products w·mw; per-article sums by bincount, which adds in array order from 0.0), so the
        # scores are bit-identical to the loop's while the cost no longer follows the number of hits.
        join = b"".join
        entries = np.frombuffer(join([post.entries for post, _ in hits]), dtype=np.int64)
        # The array's own repeat: np.repeat on a list converts it through a slow generic path (≈ 4.5 µs
        # against ≈ 1.3 µs for ten postings).
        multipliers = np.array([w for _, w in hits]).repeat([len(post) for post, _ in hits])
        products = np.frombuffer(join([post.weights for post, _ in hits])) * multipliers
        # Grouped by event, then article (the order of the entries); a stable sort keeps each article's hits
        # in look-up order.
        order = np.argsort(entries, kind="stable")
        new_key = np.empty(len(order), dtype=bool)
        new_key[0] = True
        sorted_entries = entries[order]
        np.not_equal(sorted_entries[1:], sorted_entries[:-1], out=new_key[1:])
        score = np.bincount(np.cumsum(new_key) - 1, weights=products[order])
        first = order[np.flatnonzero(new_key)]  # each article's first hit: where it enters the ranking
        ev = entries[first] >> _KEY_BITS
        keep = score > 0.0
        if not keep.all():
            score, first, ev = score[keep], first[keep], ev[keep]
            if not len(score):
                return [], []
        new_ev = np.empty(len(ev), dtype=bool)
        new_ev[0] = True
        np.not_equal(ev[1:], ev[:-1], out=new_ev[1:])
        ev_starts = np.flatnonzero(new_ev)
        best = np.maximum.reduceat(score, ev_starts)
        appears = np.minimum.reduceat(first, ev_starts)
        top = np.lexsort((appears, -best))[: p.max_candidates]
        by_num = self._by_num
        events = [
            (by_num[num], cos_m) for num, cos_m in zip(ev[ev_starts][top].tolist(), best[top].tolist(), strict=True)
        ]
        near = np.flatnonzero(score >= p.reprint_min_cosine)
        if not len(near):
            return events, []
        closest = first[near[np.argsort(-score[near], kind="stable")[: p.reprint_max_verify]]]
        return events, (entries[closest] & _KEY_MASK).tolist()

    def _rests_on_one_term(self, vec: Mapping[str, float], ev: _Event) -> bool:
        """True when the centroid cosine without its strongest shared term is below min_cosine_beyond_top_term."""
        if ev.norm2 <= 0.0:
            return True
        parts = list(map(mul, vec.values(), map(ev.centroid.get, vec, repeat(0.0))))
        rest = (sum(parts) - max(parts, default=0.0)) / math.sqrt(ev.norm2)
        return rest < self.params.min_cosine_beyond_top_term

    def _centroid_cosine(self, vec: Mapping[str, float], ev: _Event) -> float:
        """Cosine between a unit article vector and an event's centroid."""
        # The products summed in the same order as a generator over vec would, but the loop runs in C
        # (map over the terms with the centroid's get): identical floats, a third of the time.
        dot = sum(map(mul, vec.values(), map(ev.centroid.get, vec, repeat(0.0))))
        return dot / math.sqrt(ev.norm2) if ev.norm2 > 0.0 else 0.0

    def _new_event(self, event_id: str, t: datetime) -> _Event:
        """Create and register an empty event."""
        ev = _Event(id=event_id, num=self._next_num, first=t, last=t)
        self._next_num += 1
        self._events[event_id] = ev
        self._by_num[ev.num] = ev
        return ev

    def _add_member(self, ev: _Event, a: _Prepared) -> None:
        """Add an article to an event: centroid, names, time span, signature and inverted index."""
        p = self.params
        article, t, fp, sig, anchors = a.article, a.t, a.fp, a.sig, a.anchors
        key = self._next_key
        self._next_key += 1
        digest, short = (sig.digest, sig.short) if sig is not None else (None, False)
        top = a.ranked[: p.posting_terms]
        self._members[key] = _Member(
            article.id,
            article.url,
            ev.id,
            digest,
            short,
            (*map(_first, top), *fp.terms),
            len(top),
        )
        if sig is not None:
            filed = self._by_digest.setdefault(sig.digest, key)
            if filed != key:
                if isinstance(filed, int):
                    self._by_digest[sig.digest] = [filed, key]
                else:
                    filed.append(key)
        self._by_id[article.id] = ev.id
        if article.url:
            self._by_url[article.url] = ev.id
        postings = self._postings
        cap = p.posting_cap
        entry = _entry(ev.num, key)
        for term, w in top:
            posting = postings.get(term)
            if posting is None:
                posting = postings[term] = _Posting()
            entries = posting.entries
            entries.append(entry)
            posting.weights.append(w)
            if len(entries) > cap:
                # Oldest first: the capped list keeps the recent articles, where same events live.
                posting.pop_oldest()
        ev.members.append(key)

        # The centroid sums the members' vectors with repeats counted (the summaries rank sentences against it too);
        # articles arriving are compared with it by their comparison vectors (a.vec).
        ev.centroid, ev.norm2 = _capped(
            ev.centroid, _add_into(ev.centroid, a.strongest, ev.norm2), p.max_centroid_terms
        )
        # The members' lead vectors, summed alike and capped alike: a long-running story's leads name ever more
        # terms (ECB+: 504 for an event of 21 reports), and the strongest carry its cosine.
        ev.lead, ev.lead_norm2 = _capped(ev.lead, _add_into(ev.lead, a.lead, ev.lead_norm2), p.max_centroid_terms)
        # Bounded, and in sorted order so that which ones fit does not depend on set iteration order.
        if anchors.dates and len(ev.dates) < p.max_event_anchors:
            ev.dates = {*ev.dates, *sorted(anchors.dates)[: p.max_event_anchors - len(ev.dates)]}
        if anchors.quantities and len(ev.quantities) < p.max_event_anchors:
            ev.quantities = {*ev.quantities, *sorted(anchors.quantities)[: p.max_event_anchors - len(ev.quantities)]}
        if len(ev.entities) < 4 * p.max_article_terms:
            ev.entities.update(fp.entities)
        names = ev.names
        top_w = names.get(ev.top_name, 0.0)
        for name, w in a.name_w.items():
            if name not in names and len(names) >= 4 * p.max_article_terms:
                continue  # bounded: an event's main names arrive with its first reports
            nw = names[name] = names.get(name, 0.0) + w
            # Ties go to the alphabetically first name: iteration order of a frozenset of strings changes
            # with PYTHONHASHSEED, which made ECB+ F1 0.880 or 0.8735 from run to run.
            if nw > top_w or (nw == top_w and name < ev.top_name):
                ev.top_name, top_w = name, nw

        if t < ev.first:
            ev.first = t
        if t > ev.last or len(ev.members) == 1:
            ev.last = max(ev.last, t)
            heapq.heappush(self._expiry, (ev.last, ev.id))

    def _unfile_signature(self, digest: int, key: int) -> None:
        """Forget that member `key` has this signature; other members with it stay filed."""
        filed = self._by_digest.get(digest)
        if filed == key:
            del self._by_digest[digest]
        elif isinstance(filed, list) and key in filed:
            filed.remove(key)
            if len(filed) == 1:
                self._by_digest[digest] = filed[0]

    def _drop_event(self, ev: _Event) -> None:
        """Remove an event and all its articles from every structure."""
        for key in ev.members:
            m = self._members.pop(key, None)
            if m is None:
                continue
            self._uncount_terms(m.terms[m.n_posted :])
            entry = _entry(ev.num, key)
            for term in m.terms[: m.n_posted]:
                posting = self._postings.get(term)
                if posting is not None:
                    posting.remove(entry)
                    if not posting:
                        del self._postings[term]
            if m.digest is not None:
                self._unfile_signature(m.digest, key)
            if self._by_id.get(m.article_id) == ev.id:
                del self._by_id[m.article_id]
            if m.url and self._by_url.get(m.url) == ev.id:
                del self._by_url[m.url]
        del self._events[ev.id]
        self._by_num.pop(ev.num, None)


def _agreeing_values(a: int, b: int, low_bits: int, top_bits: int) -> int:
    """How many of two packed signatures' 32-bit values are equal (low_bits, top_bits: see EventIndex)."""
    x = a ^ b  # a value is equal where its word of x is zero
    # Per word, (x & low) + low sets the top bit when any low bit is set, and carries no further; or-ing x in
    # adds the top bit itself. The words left without a top bit are the zero ones.
    return (~(((x & low_bits) + low_bits) | x) & top_bits).bit_count()


def _capped(total: dict[str, float], norm2: float, cap: int) -> tuple[dict[str, float], float]:
    """A summed vector and its squared norm, cut to its `cap` strongest terms once it holds twice as many."""
    if len(total) <= 2 * cap:
        return total, norm2
    kept = sorted(total.items(), key=_second, reverse=True)[:cap]
    return dict(kept), sum(w * w for _, w in kept)


def _strongest_first(vec: Mapping[str, float]) -> list[tuple[str, float]]:
    """vec's (term, weight) pairs by weight, strongest first, ties in vec's order (a stable sort)."""
    items = list(vec.items())
    values = list(vec.values())
    # A vector already in that order (every vector cut to max_article_terms: the cut sorted it stably, and
    # dividing by the norm reverses no two weights) is its own ranking; the test stops at the first rise.
    if all(map(ge, values, values[1:])):
        return items
    return sorted(items, key=_second, reverse=True)


def _add_into(total: dict[str, float], vec: Mapping[str, float], norm2: float) -> float:
    """Add vec into total in place; return total's squared norm, kept up to date from `norm2`.

    Term by term in vec's order as a loop would (old + w; norm2 += new² − old², left to right), with the
    loops run in C.
    """
    if not total:
        # A new event's first member (four in ten articles): every old value is 0.0, and 0.0 + w is w, and
        # w² − 0.0 is w², so this is the same arithmetic in two passes instead of six.
        total.update(vec)
        values = vec.values()
        return reduce(add, map(mul, values, values), norm2)
    olds = list(map(total.get, vec, repeat(0.0)))
    news = list(map(add, olds, vec.values()))
    total.update(zip(vec, news, strict=True))
    return reduce(add, map(sub, map(mul, news, news), map(mul, olds, olds)), norm2)


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    """weights scaled to unit length ({} when all are zero)."""
    values = weights.values()
    norm = math.sqrt(sum(map(mul, values, values)))
    if norm == 0.0:
        return {}
    return dict(zip(weights, map(truediv, values, repeat(norm)), strict=True))
