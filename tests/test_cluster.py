"""The event index: duplicates, reprints, same-event reports, follow-ups, eviction and bad input."""

from __future__ import annotations

import dataclasses
import math
import os
import random
import re
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core import cluster
from bot.core.cluster import EventIndex, event_id_for
from bot.core.fingerprint import STOPWORDS, fold, fold_quotes, stem, term_set, words
from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.models import Article
from tests.faults.helpers import DETAILS, HEADLINES, jargon

T0 = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)

# A fictional wire story, as the agency sent it (apostrophes lost in transit) …
WIRE = "\n".join(
    (
        (
            "PORT ALDER (Meridian) - Velmora s transport ministry closed the Port Alder container harbour on "
            "Sunday after a fire aboard the tanker Grey Heron spread to two loading cranes, officials said."
        ),
        (
            "The ministry said about 40 per cent of the country s fuel imports pass through the harbour, and that"
            " shipments would be diverted to the northern terminal at Castemoor."
        ),
        (
            "Firefighters from three districts fought the blaze for six hours before bringing it under control, "
            "according to harbour master Ilse Varnholt."
        ),
        ("No one was killed, but eleven dock workers were treated for smoke inhalation at Saint Brenn hospital."),
        (
            "It s the second fire at the harbour this year, and unions have demanded an independent inquiry into "
            "safety checks on ageing tankers."
        ),
        (
            "Velmora s opposition leader Tomas Achterberg called the closure a failure of oversight and urged the"
            " minister to appear before parliament."
        ),
    )
)

# … the same story republished by a newspaper with edits: headline, curly quotes, hyphens, furniture.
REPRINT_TITLE = "Velmora shuts Port Alder harbour after tanker fire spreads to cranes"
REPRINT = "\n".join(
    (
        "PUBLISHED : Sunday, 4 May, 2031, 11:02am",
        (
            "Velmora’s transport ministry closed the Port Alder container harbour on Sunday after a fire aboard "
            "the tanker Grey Heron spread to two loading cranes, officials said."
        ),
        (
            "The ministry said about 40 percent of the country’s fuel imports pass through the harbour, and that "
            "shipments would be diverted to the northern terminal at Castemoor."
        ),
        "READ MORE: Dock unions threaten strike over pay",
        (
            "Fire-fighters from three districts fought the blaze for six hours before bringing it under control, "
            "according to harbour-master Ilse Varnholt."
        ),
        ("No one was killed, but eleven dock workers were treated for smoke inhalation at Saint Brenn hospital."),
        (
            "Velmora’s opposition leader Tomas Achterberg called the closure a failure of oversight and urged the"
            " minister to appear before parliament."
        ),
    )
)

# An independent report of the same happening, in other words.
OTHER_OUTLET_TITLE = "Tanker blaze forces Velmora to close Port Alder, fuel shipments rerouted to Castemoor"
OTHER_OUTLET = "\n".join(
    (
        (
            "Velmora closed its biggest container port, Port Alder, on Sunday when flames from the burning tanker"
            " Grey Heron reached the quay's cranes."
        ),
        (
            "Eleven workers needed hospital treatment after breathing smoke, harbour master Ilse Varnholt told "
            "reporters, adding that crews battled the tanker fire for six hours."
        ),
        "Fuel cargoes bound for Port Alder will be sent to Castemoor instead, the transport ministry said.",
        "Opposition leader Tomas Achterberg demanded that the minister explain the tanker fire to parliament.",
    )
)

# A line the paper adds when it re-serves REPRINT: five times the other outlet's headline words, enough to move
# the event's centroid, and so its headline, were that copy counted.
RESERVED_TAIL = 5 * "\nTanker blaze forces fuel shipments rerouted to Castemoor, blaze forces close, shipments rerouted"

# Something else entirely.
UNRELATED_TITLE = "Castemoor Rovers win cup final on penalties"
UNRELATED = "\n".join(
    (
        (
            "Castemoor Rovers won the national cup final on Saturday, beating Lindqvist Athletic 5-4 on penalties"
            " after a goalless draw."
        ),
        ("Goalkeeper Ada Moravec saved two spot kicks as the club lifted the trophy for the first time since 1998."),
        "Coach Pieter Holm said the victory belonged to the supporters who had travelled across the country.",
    )
)

# Days later, a new happening with the same actors: the harbour reopens after the inquiry.
FOLLOW_UP_TITLE = "Port Alder reopens as Velmora inquiry blames tanker Grey Heron's ageing pumps"
FOLLOW_UP = "\n".join(
    (
        (
            "Velmora reopened the Port Alder container harbour on Friday, twelve days after the fire aboard the "
            "tanker Grey Heron, as an inquiry blamed corroded fuel pumps."
        ),
        (
            "Harbour master Ilse Varnholt said the two damaged cranes had been replaced and that fuel shipments "
            "diverted to Castemoor would return next week."
        ),
        (
            "Opposition leader Tomas Achterberg said the inquiry report vindicated unions that had warned about "
            "ageing tankers and called for the transport minister to resign."
        ),
    )
)


def art(
    id_: str,
    title: str,
    text: str,
    when: datetime | None,
    *,
    outlet: str = "Outlet",
    url: str | None = None,
) -> Article:
    """A fixture article."""
    return Article(
        id=id_,
        outlet=outlet,
        url=url or f"https://{outlet.lower()}.example/{id_}",
        title=title,
        text=text,
        published=when,
    )


def test_normalisation_makes_outlets_variants_agree() -> None:
    """Lost apostrophes, curly quotes, hyphenated names and 'per cent' fold to the same tokens."""
    assert words("China s leader") == words("China’s leader") == words("China's leader")
    assert words("Kim Jong-un") == words("Kim Jong Un") == words("Kim Jong-Un")
    assert words("40 per cent") == words("40 percent") == words("40%") == words("40 PER\nCent")
    # Words that merely contain "cent" are left alone, and so is text without any of the forms.
    assert fold("a recent percentage in the centre") == "a recent percentage in the centre"
    assert fold("rose 5% per cent") == "rose 5 percent   percent "
    assert words("It s over, don t go") == words("It’s over, don’t go")
    assert fold("“quoted”") == '"quoted"'
    # A backtick still folds when a curly quote before it already made the text ASCII; accented text keeps
    # its 'per cent' folding.
    assert fold("It’s `quoted`") == "It's 'quoted'"
    assert fold("Café prices rose 5 PER cent") == "Cafe prices rose 5  percent "
    # fold_quotes replaces one character by one and leaves letters and 'per cent' alone.
    assert fold_quotes("“Café”\u00a0—\nit’s 5 per cent") == '"Café" -\nit\'s 5 per cent'
    assert words("Pokémon") == words("Pokemon")
    # CJK runs become character bigrams, so a CJK text has comparable tokens at all.
    assert words("北朝鲜领导人") == ["北朝", "朝鲜", "鲜领", "领导", "导人"]
    assert term_set("The sanctions") == term_set("the sanction")


def test_term_set_tokens_numbers_and_folding() -> None:
    """Sentence term sets split letters from digits, keep separated numbers whole and fold like the fingerprint."""
    mixed = "The 2nd round: 1,000.5 tonnes, 3.14.15 and a1b2 at 10:30; 5% per cent"
    assert term_set(mixed) == {"nd", "round", "1,000.5", "tonne", "3.14.15", "10", "30", "percent"}
    assert term_set("Prices rose 40 PER\nCent") == term_set("prices rose 40%") == {"price", "rose", "40", "percent"}
    assert term_set("Café in Zürich served 2 crêpes") == {"cafe", "zurich", "served", "crepe"}
    assert term_set("北朝鲜 leader’s visit") == {"北朝鲜", "leader", "visit"}
    assert term_set("It s over, don t go") == term_set("It’s over, don’t go") == {"don"}


# The folding and term rules spelled out plainly, as the oracle for the fast paths in fingerprint.py.
_QUOTE_VARIANTS = {"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "—": "-", "–": "-", "\u00a0": " "}
_PIECES = [*"aZ9st .,'\n%", "ll", "re", "per", "PER", " cent", "\nCent", "é", "ß", "Ｐ", "北京", "1,000", "2.5"]
_PIECES += _QUOTE_VARIANTS


def _reference_fold(text: str) -> str:
    """fold() for the pieces above, without shortcuts."""
    text = "".join(_QUOTE_VARIANTS.get(c, c) for c in text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace("é", "e").replace("ß", "ss")
    return re.sub(r"(?i)\bper\s+cent\b|%", " percent ", text)


def _reference_term_set(text: str) -> frozenset[str]:
    """term_set() without shortcuts: every token of the folded, lower-cased text through the term rules."""
    tokens = re.findall(r"[^\W\d_]+|[0-9]+(?:[.,][0-9]+)*", _reference_fold(text).lower())
    terms = frozenset("" if len(t) < 2 or t in STOPWORDS else stem(t) for t in tokens)
    return terms - frozenset({"", "s", "t", "ll", "ve", "re", "d", "m"})


def test_fold_and_term_set_fast_paths_match_the_plain_rules() -> None:
    """Random mixes of quotes, accents, numbers, 'per cent' and CJK: the shortcuts change nothing."""
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14)))
        assert fold(text) == _reference_fold(text), text
        # The same set, built alike: summaries sum weights in the set's iteration order, so it must not move.
        assert list(term_set(text)) == list(_reference_term_set(text)), text
        quotes_folded = fold_quotes(text)
        assert len(quotes_folded) == len(text) and quotes_folded.count("\n") == text.count("\n"), text


def test_same_id_and_same_url_are_duplicates() -> None:
    """A repeated article id, or a new id with an already seen canonical URL, adds nothing."""
    idx = EventIndex()
    first = idx.assign(art("a1", "", WIRE, T0), T0)
    again = idx.assign(art("a1", "", WIRE, T0), T0)
    same_url = idx.assign(art("a2", "", "different text", T0, url="https://outlet.example/a1"), T0)
    assert first.kind == "new_event"
    assert (again.kind, again.event_id, again.score) == ("duplicate", first.event_id, 1.0)
    assert (same_url.kind, same_url.event_id) == ("duplicate", first.event_id)


def test_edited_republication_is_a_reprint() -> None:
    """Headline, curly quotes, 'per cent', furniture and a dropped paragraph do not hide a reprint."""
    idx = EventIndex()
    wire = idx.assign(art("wire", "", WIRE, T0, outlet="Meridian"), T0)
    later = T0 + timedelta(hours=3)
    copy = idx.assign(art("paper", REPRINT_TITLE, REPRINT, later, outlet="Paper"), later)
    assert copy.kind == "reprint"
    assert copy.event_id == wire.event_id
    assert copy.score >= DEFAULT_PARAMS.reprint_jaccard


def test_independent_report_joins_the_event_and_unrelated_story_does_not() -> None:
    """Another outlet's own words about the same happening join it; a football final starts its own."""
    idx = EventIndex()
    first = idx.assign(art("wire", "", WIRE, T0), T0)
    t1 = T0 + timedelta(hours=2)
    other = idx.assign(art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t1), t1)
    sport = idx.assign(art("sport", UNRELATED_TITLE, UNRELATED, t1), t1)
    assert other.kind == "same_event" and other.event_id == first.event_id
    assert sport.kind == "new_event" and sport.event_id != first.event_id and sport.follows is None


def test_later_happening_with_same_actors_is_a_new_event_that_follows() -> None:
    """Twelve days on, the reopening is a new event recorded as following the fire."""
    idx = EventIndex()
    fire = idx.assign(art("wire", "", WIRE, T0), T0)
    t1 = T0 + timedelta(days=12)
    reopen = idx.assign(art("reopen", FOLLOW_UP_TITLE, FOLLOW_UP, t1), t1)
    assert reopen.kind == "new_event"
    assert reopen.follows == fire.event_id


def test_lookalike_at_the_same_time_records_no_follow_up() -> None:
    """A different happening in the same news cycle never 'follows' (follow-ups come later)."""
    idx = EventIndex()
    idx.assign(art("wire", "", WIRE, T0), T0)
    sport = idx.assign(art("sport", UNRELATED_TITLE, UNRELATED, T0), T0)
    assert sport.follows is None


def test_event_ids_are_deterministic() -> None:
    """Two indexes fed the same stream name events identically, from the first article id."""
    ids = []
    for _ in range(2):
        idx = EventIndex()
        ids.append([idx.assign(art(i, "", t, T0), T0).event_id for i, t in (("x", WIRE), ("y", UNRELATED))])
    assert ids[0] == ids[1]
    assert ids[0][0] == event_id_for("x")


def test_old_events_are_evicted() -> None:
    """Events whose last report is older than the retention window leave the index."""
    idx = EventIndex()
    ev = idx.assign(art("wire", "", WIRE, T0), T0).event_id
    assert idx.n_events == 1 and len(idx) == 1
    late = T0 + DEFAULT_PARAMS.retention + timedelta(hours=1)
    idx.assign(art("sport", UNRELATED_TITLE, UNRELATED, late), late)
    assert idx.event_of("wire") is None
    assert ev in idx.drain_evicted()
    assert idx.n_events == 1 and len(idx) == 1


def test_quiet_window_closes_an_event() -> None:
    """After a quiet window without news, even a close report starts a new event (that follows)."""
    short = dataclasses.replace(DEFAULT_PARAMS, quiet_window=timedelta(hours=6))
    idx = EventIndex(short)
    first = idx.assign(art("wire", "", WIRE, T0), T0)
    t1 = T0 + timedelta(hours=20)
    other = idx.assign(art("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, t1), t1)
    assert other.kind == "new_event"
    assert other.follows == first.event_id


def test_restore_rebuilds_the_index() -> None:
    """After restore, a reprint of a stored article is recognised and its id is a duplicate."""
    idx = EventIndex()
    idx.restore(art("wire", "", WIRE, T0), "ev-stored", T0)
    t1 = T0 + timedelta(hours=1)
    assert idx.assign(art("wire", "", WIRE, T0), t1).kind == "duplicate"
    copy = idx.assign(art("paper", REPRINT_TITLE, REPRINT, t1), t1)
    assert (copy.kind, copy.event_id) == ("reprint", "ev-stored")


def test_word_weights_count_the_held_articles_so_a_restart_weighs_as_before() -> None:
    """An evicted article's words leave the document frequencies: a restart restoring the held events agrees."""
    running = EventIndex()
    running.assign(art("wire", "", WIRE, T0), T0)
    late = T0 + DEFAULT_PARAMS.retention + timedelta(hours=1)
    kept = running.assign(art("sport", UNRELATED_TITLE, UNRELATED, late), late)
    assert running.event_of("wire") is None
    restarted = EventIndex()
    restarted.restore(art("sport", UNRELATED_TITLE, UNRELATED, late), kept.event_id, late)
    for title, text in (("", WIRE), (UNRELATED_TITLE, UNRELATED), (REPRINT_TITLE, REPRINT)):
        assert running.term_weights(title, text) == restarted.term_weights(title, text)
    # With every event gone, no word is counted any more: the vocabulary does not grow with uptime.
    much_later = late + DEFAULT_PARAMS.retention + timedelta(hours=1)
    running.evict(much_later)
    assert len(running) == 0
    assert running.term_weights("", WIRE) == EventIndex().term_weights("", WIRE)


def test_a_full_index_refuses_an_article_before_counting_it() -> None:
    """Past 2**31 members an article is refused with a clear error, and the word counts stay the members'."""
    idx = EventIndex()
    idx.assign(art("wire", "", WIRE, T0), T0)
    before = idx.term_weights(REPRINT_TITLE, REPRINT)
    idx._next_key = cluster._MAX_MEMBERS  # two billion articles later
    try:
        idx.assign(art("paper", REPRINT_TITLE, REPRINT, T0), T0)
    except OverflowError as err:
        assert "restart" in str(err)
    else:
        raise AssertionError("the article was taken")
    assert idx.term_weights(REPRINT_TITLE, REPRINT) == before
    assert len(idx) == 1 and idx.n_events == 1


def test_bad_input_never_raises() -> None:
    """Empty texts, titles only, missing and future dates, non-English and 1 MB texts are handled."""
    idx = EventIndex()
    huge = (WIRE + "\n") * (1_000_000 // len(WIRE) + 1)
    cases = [
        art("wire", "", WIRE, T0),
        art("empty", "", "", T0),
        art("empty2", "", "", T0),
        art("title-only", "Velmora closes Port Alder harbour after tanker fire", "", None),
        art("future", "", OTHER_OUTLET, T0 + timedelta(days=400)),
        art("de", "Hafen von Port Alder nach Brand geschlossen", "Das Verkehrsministerium schloss den Hafen.", T0),
        art("zh", "港口火灾", "维尔莫拉交通部周日关闭了港口。", T0),
        art("huge", "Huge", huge, T0),
        art("punct", "!!!", "... --- ???", T0),
    ]
    results = [idx.assign(a, T0) for a in cases]
    assert all(r.event_id for r in results)
    # Two empty articles are not "the same event" just because both are empty.
    assert results[1].event_id != results[2].event_id
    assert results[7].kind == "reprint"  # the 1 MB text is the wire story, repeated
    assert idx.event_of("future") is not None


def test_per_article_work_is_bounded_by_posting_caps() -> None:
    """Many articles sharing one term do not make candidate lists grow without bound."""
    idx = EventIndex()
    for i in range(300):
        t = T0 + timedelta(minutes=i)
        idx.assign(art(f"n{i}", f"Velmora harbour note {i}", f"Velmora harbour update number {i} item{i}x.", t), t)
    assert max(len(p) for p in idx._postings.values()) <= DEFAULT_PARAMS.posting_cap


def _plain_candidates(idx: EventIndex, ranked: list[tuple[str, float]]) -> tuple[list[tuple[str, float]], list[int]]:
    """The candidate rule as a plain loop: each held article's score is the sum of its hits' products, in
    look-up order; an event ranks by its best article, ties by where its first article entered the hits.
    The closest articles: those scoring at least reprint_min_cosine, best first, ties by (event, key)."""
    scores: dict[int, float] = {}
    first_hit: dict[int, int] = {}
    event_of: dict[int, int] = {}
    position = 0
    for term, w in ranked[: idx.params.query_terms]:
        posting = idx._postings.get(term)
        if posting is None:
            continue
        for entry, mw in zip(posting.entries, posting.weights, strict=True):
            num, key = divmod(entry, 1 << cluster._KEY_BITS)
            scores[key] = scores.get(key, 0.0) + mw * w
            first_hit.setdefault(key, position)
            event_of[key] = num
            position += 1
    best: dict[int, tuple[float, int]] = {}
    for key, score in scores.items():
        if score > 0.0:
            num = event_of[key]
            top, appears = best.get(num, (score, first_hit[key]))
            best[num] = (max(top, score), min(appears, first_hit[key]))
    ranked_events = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1]))
    events = [(idx._by_num[num].id, score) for num, (score, _) in ranked_events[: idx.params.max_candidates]]
    near = [key for key, score in scores.items() if score >= idx.params.reprint_min_cosine]
    near.sort(key=lambda key: (-scores[key], event_of[key], key))
    return events, near[: idx.params.reprint_max_verify]


def test_candidate_look_up_follows_the_plain_rule() -> None:
    """The numpy look-up over packed posting entries ranks the events and scores them as a plain loop does."""
    rng = random.Random(7)
    syllables = ("kor", "vel", "dan", "pyo", "sin", "yal", "mar", "tek")
    vocabulary = [a + b + c for a in syllables for b in syllables for c in ("ma", "to", "ri", "su", "ne", "lo")]
    stories = [rng.sample(vocabulary, 10) for _ in range(200)]

    def soup(story: int, n: int) -> str:
        words = stories[story] + rng.sample(vocabulary, 3)
        return " ".join(rng.choice(words) for _ in range(n)) + "."

    # Short posting lists, so that they fill and drop their oldest entries.
    idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, posting_cap=8))
    for i in range(600):
        # An hour apart, on a few stories at a time: events form, close and, after 14 days, leave the index.
        t = T0 + timedelta(hours=i)
        story = i // 4 + rng.randrange(4)
        text = "\n".join(soup(story, rng.randint(8, 30)) for _ in range(4))
        idx.assign(art(f"a{i}", soup(story, 6), text, t), t)
    assert max(len(p) for p in idx._postings.values()) == 8
    assert idx.n_events > 50 and idx.drain_evicted()
    compared = closest = 0
    for _ in range(300):
        story = rng.randrange(140, 155)
        vec = idx.term_weights(soup(story, 5), soup(story, rng.randint(5, 60)))
        ranked = cluster._strongest_first(vec)
        events, near = idx._candidates(ranked)
        assert ([(ev.id, score) for ev, score in events], near) == _plain_candidates(idx, ranked)
        compared += len(events)
        closest += len(near)
    assert compared > 1000 and closest > 300


# Two fictional title fights in one arena: the same champion and wording, a different challenger.
BOUT_A = (
    "Champion Darek Voss defended his heavyweight belt at the Lindqvist Arena on Saturday, stopping Amos "
    "Kettering in the seventh round.\nVoss landed a left hook that sent Kettering into the ropes before the "
    "referee waved the fight off.\nKettering, a former cruiserweight, had promised to go the distance."
    "\nIt was the first stoppage loss of the career of Kettering."
)
BOUT_B = (
    "Champion Darek Voss kept his heavyweight belt at the Lindqvist Arena, stopping Ruben Halloway in the "
    "sixth round on Saturday.\nHalloway went down twice before the referee waved the fight off.\nThe challenger "
    "Halloway had trained for a year for the chance.\nVoss has not lost in five years."
)


def test_same_wording_about_another_main_actor_is_another_event() -> None:
    """Lookalike reports whose strongest names exclude each other's stay apart, however similar the words."""
    idx = EventIndex()
    a = idx.assign(art("bout-a", "", BOUT_A, T0), T0)
    b = idx.assign(art("bout-b", "", BOUT_B, T0), T0)
    assert b.kind == "new_event" and b.event_id != a.event_id


def test_a_name_opening_a_sentence_keeps_its_boost() -> None:
    """Names are boosted as whole terms: 'Kettering' weighs the same at a sentence start as mid-sentence."""
    idx = EventIndex()
    w = idx.term_weights("", "Kettering lost the bout. Fans cheered for Kettering and the arena.")
    plain = idx.term_weights("", "Kettering lost the bout. Fans cheered for kettering and the arena.")
    assert w["kettering"] > plain["kettering"]


def test_headline_reprint_joins_only_an_open_event() -> None:
    """A repeated headline is a reprint while its event is open; once closed it is a recurring title."""
    idx = EventIndex()
    title = "Velmora stocks close higher as harbour reopens"
    first = idx.assign(art("h1", title, "", T0), T0)
    t1 = T0 + timedelta(hours=1)
    copy = idx.assign(art("h2", title, "", t1), t1)
    assert (copy.kind, copy.event_id) == ("reprint", first.event_id)
    t2 = t1 + DEFAULT_PARAMS.quiet_window + timedelta(hours=1)
    again = idx.assign(art("h3", title, "", t2), t2)
    assert again.kind == "new_event" and again.event_id != first.event_id


def test_full_text_reprint_still_joins_a_closed_event() -> None:
    """The quiet-window rule is for headlines only: a republished full text still joins its story."""
    idx = EventIndex()
    wire = idx.assign(art("wire", "", WIRE, T0, outlet="Meridian"), T0)
    late = T0 + DEFAULT_PARAMS.quiet_window + timedelta(hours=1)
    copy = idx.assign(art("paper", REPRINT_TITLE, REPRINT, late, outlet="Paper"), late)
    assert (copy.kind, copy.event_id) == ("reprint", wire.event_id)


TIED_NAMES = "Reports from the arena named Voss, Kettering, Halloway, Varnholt, Achterberg, Castemoor and Lindqvist."
TOP_NAME = (
    "from datetime import UTC, datetime\n"
    "from bot.core.cluster import EventIndex\n"
    "from bot.models import Article\n"
    "t = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)\n"
    "idx = EventIndex()\n"
    f"a = idx.assign(Article(id='t', outlet='O', url='', title='', text={TIED_NAMES!r}, published=t), t)\n"
    "print(idx._events[a.event_id].top_name)\n"
)


def test_main_name_ties_do_not_depend_on_the_hash_seed() -> None:
    """Names of equal weight resolve alphabetically, not in set order (which changes with PYTHONHASHSEED)."""
    idx = EventIndex()
    a = idx.assign(art("tie", "", TIED_NAMES, T0), T0)
    assert idx._events[a.event_id].top_name == "achterberg"
    root = Path(__file__).resolve().parents[1]
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", TOP_NAME], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "achterberg", seed


MANY_NAMES = (
    "Delegates named Voss, Kettering, Halloway, Varnholt, Achterberg, Castemoor, Lindqvist, Brandt, Ruskova, "
    "Okafor, Marchetti and Delacroix to the panel on Monday."
)
KEPT_NAMES = (
    "from dataclasses import replace\n"
    "from datetime import UTC, datetime\n"
    "from bot.core.cluster import EventIndex\n"
    "from bot.core.tuning import DEFAULT_PARAMS\n"
    "from bot.models import Article\n"
    "t = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)\n"
    "idx = EventIndex(replace(DEFAULT_PARAMS, max_article_terms=2))\n"
    f"a = idx.assign(Article(id='t', outlet='O', url='', title='', text={MANY_NAMES!r}, published=t), t)\n"
    "print(' '.join(idx._events[a.event_id].names))\n"
)


def test_names_an_event_keeps_do_not_depend_on_the_hash_seed() -> None:
    """Past an event's bound on names, the first the text names are kept, whatever the set order."""
    root = Path(__file__).resolve().parents[1]
    kept = set()
    for seed in ("0", "1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", KEPT_NAMES], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        kept.add(out.stdout.strip())
    # The bound is 4 × max_article_terms = 8 names; "Delegates" opens the text, so it is no name.
    assert kept == {"voss kettering halloway varnholt achterberg castemoor lindqvist brandt"}


def test_a_join_resting_on_one_shared_word_is_refused() -> None:
    """Two stories that share only their country's name are two events; a report of the same strike joins."""
    strike = art(
        "g1",
        "Velmora: dockworkers strike shuts Port Alder for a second day",
        "Thousands of dockworkers walked out at Port Alder on Tuesday, halting container traffic across Velmora.",
        T0,
        outlet="A",
    )
    forecast = art(
        "g2",
        "Velmora's finance ministry cuts its growth forecast",
        "The finance ministry in Castemoor lowered its growth forecast for Velmora to 1.2 percent, on weak exports.",
        T0 + timedelta(hours=1),
        outlet="B",
    )
    report = art(
        "g3",
        "Port Alder strike by Velmora dockworkers halts container traffic",
        "Dockworkers stayed off the job at Port Alder for a second day, and container ships queued offshore.",
        T0 + timedelta(hours=2),
        outlet="C",
    )
    outcomes = {}
    for floor in (0.0, DEFAULT_PARAMS.min_cosine_beyond_top_term):
        idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, min_cosine_beyond_top_term=floor))
        first = idx.assign(strike, T0)
        outcomes[floor] = (idx.assign(forecast, T0 + timedelta(hours=1)), idx.assign(report, T0 + timedelta(hours=2)))
        assert outcomes[floor][1].event_id == first.event_id  # the strike report joins either way
    without, with_floor = outcomes[0.0][0], outcomes[DEFAULT_PARAMS.min_cosine_beyond_top_term][0]
    assert without.kind == "same_event"  # the cosine alone would join the forecast to the strike, on "Velmora"
    assert with_floor.kind == "new_event"


def test_ranked_terms_are_the_strongest_terms_sorted() -> None:
    """A prepared article's ranking is its strongest terms sorted by weight, ties in vector order, cut or not.

    Long texts are cut to max_article_terms by a stable sort, whose order the ranking reuses; short ones are
    sorted. Texts of repeated words give many tied weights.
    """
    rng = random.Random(11)
    vocab = [f"{a}{b}{c}" for a in "bdfgklmnprstvz" for b in "aeiou" for c in "nrstl"]
    idx = EventIndex()
    cut = uncut = 0
    for i in range(300):
        n = rng.choice([5, 30, 80, 200, 400])
        body = " ".join(rng.choice(vocab[: rng.choice([20, 100, len(vocab)])]) for _ in range(n))
        title = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 6)))
        a = idx._prepare(art(f"r{i}", title, body + ".", T0), T0)
        # The ranking weighs repeats (the comparison vector does not): the strongest terms, as weighed afresh.
        assert a.strongest == idx._unit_vector(idx._boosted(idx._raw_weights(a.fp.terms), a.fp.names))
        assert a.ranked == sorted(a.strongest.items(), key=lambda tw: tw[1], reverse=True)
        assert list(a.vec) == list(a.strongest)
        if len(a.fp.terms) > DEFAULT_PARAMS.max_article_terms:
            cut += 1
        else:
            uncut += 1
    assert cut > 50 and uncut > 50


def test_a_zero_title_weight_leaves_title_only_words_out_of_the_vector() -> None:
    """title_weight 0 gives title-only terms a count of 0: they get no weight (no log of 0), the rest do."""
    idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, title_weight=0.0))
    a = idx._prepare(art("z1", "Quorvath summit", WIRE, T0), T0)
    assert a.fp.terms["quorvath"] == 0.0
    assert "quorvath" not in a.vec and "harbour" in a.vec
    assert idx.assign(art("z2", "Quorvath summit", WIRE, T0), T0).kind in {"reprint", "new_event"}


def test_adding_a_vector_into_a_total_follows_the_plain_loop() -> None:
    """_add_into gives the plain loop's values and squared norm to the last bit, into an empty total too."""
    rng = random.Random(4)
    for _ in range(2000):
        total = {f"t{i}": rng.uniform(0.0, 2.0) for i in range(rng.choice([0, 0, 3, 30]))}
        vec = {f"t{rng.randint(0, 60)}": rng.uniform(0.0, 1.0) for _ in range(rng.randint(0, 40))}
        norm2 = rng.choice([0.0, rng.uniform(0.0, 9.0)])
        expected, expected_norm2 = dict(total), norm2
        for term, w in vec.items():
            old = expected.get(term, 0.0)
            new = expected[term] = old + w
            expected_norm2 += new * new - old * old
        assert cluster._add_into(total, vec, norm2) == expected_norm2
        assert total == expected and list(total) == list(expected)


def _packed(values: list[int]) -> int:
    """32-bit values in one int, value i in bits 32i to 32i+31 (a packed MinHash signature)."""
    return sum(v << (32 * i) for i, v in enumerate(values))


def test_packed_signatures_agree_where_their_values_do() -> None:
    """Comparing two packed signatures counts the equal 32-bit values, as a value-by-value loop does."""
    rng = random.Random(3)
    idx = EventIndex()
    n = DEFAULT_PARAMS.num_perm
    # Values with all, none, only the top or only the low bits set are where a word-wise trick would slip.
    edges = (0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF)
    for _ in range(3000):
        a = [rng.choice(edges) if rng.random() < 0.3 else rng.getrandbits(32) for _ in range(n)]
        share = rng.random()
        b = [x if rng.random() < share else rng.choice((rng.choice(edges), rng.getrandbits(32))) for x in a]
        agree = cluster._agreeing_values(_packed(a), _packed(b), idx._low_bits, idx._top_bits)
        assert agree == sum(x == y for x, y in zip(a, b, strict=True))


def test_a_word_for_word_copy_is_found_when_its_words_have_left_the_term_index() -> None:
    """A copy with the very signature of a held article is its reprint, whatever the posting lists hold."""
    idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, posting_cap=2))
    first = idx.assign(art("wire", "", WIRE, T0, outlet="Meridian"), T0)
    # Later reports in the same words push the wire story out of every posting list it was filed under.
    for i in range(6):
        t = T0 + timedelta(minutes=10 * (i + 1))
        idx.assign(art(f"other{i}", "", f"{WIRE}\nUpdate {i}: officials added more on day {i}.", t), t)
    wire_key = next(key for key, m in idx._members.items() if m.article_id == "wire")
    assert all(e & cluster._KEY_MASK != wire_key for p in idx._postings.values() for e in p.entries)
    later = T0 + timedelta(hours=2)
    copy = idx.assign(art("copy", "", WIRE, later, outlet="Paper"), later)
    assert copy.kind == "reprint" and copy.event_id == first.event_id and copy.score == 1.0
    # Evicted events leave no signature behind.
    gone = later + DEFAULT_PARAMS.retention + timedelta(hours=1)
    idx.evict(gone)
    assert len(idx) == 0 and not idx._by_digest


def test_an_event_s_summed_vectors_stay_bounded_as_reports_arrive() -> None:
    """Centroid and summed leads keep at most twice max_centroid_terms terms, however many reports add new ones."""
    idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, max_centroid_terms=20))
    rng = random.Random(11)
    event_ids = set()
    for i in range(40):
        t = T0 + timedelta(minutes=5 * i)
        # The same wire story under a new opening line of its own: each report's lead brings new words.
        opening = " ".join(f"word{rng.randrange(10**6)}" for _ in range(8)) + "."
        event_ids.add(idx.assign(art(f"r{i}", "", f"{opening}\n{WIRE}", t, outlet=f"Outlet {i}"), t).event_id)
    assert len(event_ids) == 1
    ev = idx._events[event_ids.pop()]
    assert 20 <= len(ev.lead) <= 40 and 20 <= len(ev.centroid) <= 40
    assert math.isclose(ev.lead_norm2, sum(w * w for w in ev.lead.values()))
    assert math.isclose(ev.norm2, sum(w * w for w in ev.centroid.values()))


def test_a_copy_s_signature_stays_filed_while_another_article_with_it_is_held() -> None:
    """Two held articles with one signature: evicting the newer leaves the older found as an exact copy."""
    # Posting lists of one article: the newer copy pushes the older out of every list it was filed under.
    idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, posting_cap=1))
    idx.restore(art("a1", "", WIRE, T0), "ev-long", T0)
    idx.restore(art("a2", "", WIRE, T0 + timedelta(hours=1)), "ev-short", T0 + timedelta(hours=1))
    # The older article's event lives on with a later report in other words.
    later = T0 + timedelta(days=10)
    idx.restore(art("a3", "", FOLLOW_UP, later), "ev-long", later)
    now = T0 + DEFAULT_PARAMS.retention + timedelta(hours=2)
    assert idx.evict(now) == ["ev-short"]
    copy = idx.assign(art("copy", "", WIRE, now, outlet="Paper"), now)
    assert (copy.kind, copy.event_id, copy.score) == ("reprint", "ev-long", 1.0)


def test_body_repeats_leave_the_comparison_vector_but_rank_the_terms() -> None:
    """A word said four times in the body weighs what it does said once, in the vector events are compared with."""
    once = "Dockers in Quorvath walked out over pay on Monday. Cranes stood idle at the harbour."
    four = once + " The cranes, the cranes, the cranes."

    def prepared(text: str, title: str = "", **params: Any) -> cluster._Prepared:
        return EventIndex(dataclasses.replace(DEFAULT_PARAMS, **params))._prepare(art("b", title, text, T0), T0)

    a, b = prepared(once), prepared(four)
    assert a.fp.terms["crane"] == 1.0 and b.fp.terms["crane"] == 4.0
    assert a.vec == pytest.approx(b.vec)
    assert dict(b.ranked)["crane"] > dict(a.ranked)["crane"]  # the look-up still ranks it by its repeats
    counted = prepared(four, body_repeat_weight=1.0)
    assert counted.vec["crane"] > a.vec["crane"] + 0.05
    half = prepared(four, body_repeat_weight=0.5)
    assert a.vec["crane"] + 0.02 < half.vec["crane"] < counted.vec["crane"] - 0.02
    # A title occurrence still counts title_weight: only the body's repeats are dropped.
    titled_once, titled_four = prepared(once, title="Cranes idle"), prepared(four, title="Cranes idle")
    assert titled_once.vec == pytest.approx(titled_four.vec)
    assert titled_once.vec["crane"] > a.vec["crane"] + 0.05


def test_an_arrival_is_compared_with_events_without_its_repeats() -> None:
    """Two reports that differ only in how often they say their words score the same against an event."""
    strike = (
        "Dockers in Quorvath walked out over pay on Monday, leaving cranes idle at the harbour. "
        "Union leaders met port managers in the evening and said talks would resume on Tuesday."
    )
    report = (
        "Port managers in Quorvath met union leaders on Monday evening after dockers walked out over pay "
        "and the harbour cranes stood idle; talks resume on Tuesday."
    )
    insistent = report + " Pay, pay and pay again, the dockers said."

    def scores(**params: Any) -> list[float]:
        out = []
        for text in (report, insistent):
            # No lead share: the lead vector weighs its terms as the whole text does, repeats counted.
            idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, lead_weight=0.0, **params))
            idx.assign(art("a", "", strike, T0), T0)
            joined = idx.assign(art("b", "", text, T0), T0)
            assert joined.kind == "same_event"
            out.append(joined.score)
        return out

    same, differs = scores(), scores(body_repeat_weight=1.0)
    assert same[0] == pytest.approx(same[1])
    assert differs[1] < differs[0] - 0.01


def test_an_events_centroid_sums_its_reports_with_their_repeats() -> None:
    """What an event's reports dwell on weighs in its centroid (summaries rank sentences by it); arrivals compare
    without their repeats."""
    text = "Dockers in Quorvath walked out over pay on Monday. Cranes stood idle at the harbour. The cranes, the crane."
    idx = EventIndex()
    event = idx.assign(art("c1", "", text, T0), T0).event_id
    alone = EventIndex()._prepare(art("c1", "", text, T0), T0)  # weighed as c1 was, in an empty index
    assert dict(idx.centroid(event)) == pytest.approx(alone.strongest)
    assert alone.vec["crane"] < alone.strongest["crane"] - 0.05


def test_who_an_article_is_about_counts_a_name_said_throughout_over_a_rare_one() -> None:
    """The subject named three times outranks an opponent named once whose name is rarer (ECB+ topic 25)."""
    report = (
        "The Saints placed running back Bush on injured reserve. Bush hurt his knee against "
        "Carolina. The coach said Bush would be back in the spring."
    )

    def about(**params: Any) -> str:
        idx = EventIndex(dataclasses.replace(DEFAULT_PARAMS, **params))
        for i in range(20):  # earlier reports make Bush and the Saints common names
            idx._prepare(art(f"f{i}", "", f"Fans cheered Bush and the Saints at parade number {i}.", T0), T0)
        name_w = idx._prepare(art("r", "", report, T0), T0).name_w
        return max(name_w, key=lambda k: (name_w[k], k))

    assert about() == "bush"
    assert about(name_repeat_weight=1.0) == "carolina"  # weighed as the vector weighs it


def test_the_join_threshold_ramps_up_for_headlines_and_down_for_long_texts() -> None:
    """Headlines need little, texts of long_text_terms the most, long full texts full_text_cosine."""
    p = DEFAULT_PARAMS
    thr = EventIndex()._same_event_threshold
    assert thr(p.short_text_terms) == p.short_event_cosine
    assert thr(p.long_text_terms) == p.same_event_cosine
    assert thr(p.full_text_terms) == thr(10 * p.full_text_terms) == p.full_text_cosine
    middle = (p.long_text_terms + p.full_text_terms) // 2
    assert p.full_text_cosine < thr(middle) < p.same_event_cosine
    assert p.short_event_cosine < thr((p.short_text_terms + p.long_text_terms) // 2) < p.same_event_cosine


def test_made_up_events_sharing_only_the_topics_names_stay_apart() -> None:
    """Twelve North Korea-China events (the fault tests' newsroom), each in up to three outlets: twelve events.

    Every report names China and North Korea, and little else in common: with a threshold as low as long full texts
    take applied at this length (≈ 60 terms), the rice imports story joined the bridge story on the topic's names
    (0.285).
    """

    def events(params: ClusterParams) -> int:
        idx = EventIndex(params)
        made: set[str] = set()
        for n, headline in enumerate(HEADLINES):
            for k in range(1 + n % 3):
                text = f"{headline}. {DETAILS[n]} {jargon(n)}"
                made.add(idx.assign(art(f"o{k}-{n}", headline, text, T0 + timedelta(minutes=n)), T0).event_id)
        return len(made)

    assert events(DEFAULT_PARAMS) == len(HEADLINES)
    # One threshold of 0.28 from 40 terms on (ECB+ alone would take it): the rice story joins the bridge story.
    flat = dataclasses.replace(DEFAULT_PARAMS, same_event_cosine=0.28, full_text_cosine=0.28)
    assert events(flat) < len(HEADLINES)
