"""Headlines and extractive summaries: central facts, cleanest variants, no boilerplate."""

from __future__ import annotations

import random
import re
import sys

import pytest

from bot.core import summarize as summarize_module
from bot.core.fingerprint import term_set
from bot.core.sentences import split_sentences
from bot.core.summarize import (
    Candidate,
    _centrality,
    best_headline,
    boilerplate_kind,
    clean_sentence,
    clean_title,
    cleanliness,
    headline,
    sentence_candidates,
    summarize,
    title_candidate,
)
from bot.core.tuning import DEFAULT_PARAMS
from tests.builders import tricky_text

LOST = "\n".join(
    (
        (
            "CASTEMOOR (Meridian) - Velmora s transport ministry closed the Port Alder harbour on Sunday after a "
            "tanker fire spread to two cranes."
        ),
        (
            "The ministry said the country s fuel imports would be diverted to the northern terminal at Castemoor"
            " for at least a week."
        ),
        "Harbour master Ilse Varnholt said eleven dock workers had been treated for smoke inhalation.",
    )
)

CLEAN = "\n".join(
    (
        (
            "Velmora’s transport ministry closed the Port Alder harbour on Sunday after a tanker fire spread to "
            "two cranes."
        ),
        "PUBLISHED : Sunday, 4 May, 2031, 11:02am",
        "By Jana Ruskova and Ole Brandt",
        "READ MORE: Dock unions threaten strike over pay",
        "Firefighters worked through the night. PHOTO: Meridian Pictures",
        (
            "The ministry said the country’s fuel imports would be diverted to the northern terminal at Castemoor"
            " for at least a week."
        ),
        "Join our Telegram channel for the latest news on the harbour fire.",
        "A version of this article appeared in the print edition of The Velmora Times on May 5, 2031.",
        "Subscribe now for unlimited access to all our stories and newsletters.",
        "Reporting by Ole Brandt; Editing by Jana Ruskova.",
    )
)


def _weights(*texts: str) -> dict[str, float]:
    """A stand-in centroid: term counts over the texts."""
    from bot.core.fingerprint import term_set

    out: dict[str, float] = {}
    for t in texts:
        for term in term_set(t):
            out[term] = out.get(term, 0.0) + 1.0
    return out


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("PUBLISHED : Sunday, 4 May, 2031, 11:02am", "timestamp"),
        ("UPDATED: Monday", "timestamp"),
        ("By Jana Ruskova and Ole Brandt", "byline"),
        ("READ MORE: Dock unions threaten strike over pay", "related link"),
        ("Firefighters worked. PHOTO: Meridian Pictures", "photo credit"),
        ("Join our Telegram channel for the latest news.", "social prompt"),
        ("Join ST's Telegram channel and get the latest breaking news delivered to you.", "social prompt"),
        ("A version of this article appeared in the print edition of The Times on May 5.", "print note"),
        ("Subscribe now for unlimited access.", "subscription"),
        ("Copyright 2031 Meridian. All rights reserved.", "copyright"),
        ("Reporting by Ole Brandt; Editing by Jana Ruskova.", "agency footer"),
        ("Click here to read the full report.", "call to action"),
    ],
)
def test_boilerplate_is_recognised(line: str, kind: str) -> None:
    """Every named kind of outlet furniture is caught."""
    assert boilerplate_kind(line) == kind


@pytest.mark.parametrize(
    "line",
    [
        "By Monday, talks between the unions and the ministry had stalled.",
        "The ministry said the harbour would reopen next week.",
        "Shares in Velmora Shipping fell 4 percent after the fire.",
    ],
)
def test_content_is_not_boilerplate(line: str) -> None:
    """Ordinary news sentences are never taken for furniture."""
    assert boilerplate_kind(line) is None


def test_candidates_skip_boilerplate_and_headline_lines() -> None:
    """Only real sentences with a full stop become candidates; furniture lines never do."""
    texts = [c.text for c in sentence_candidates(CLEAN, 0)]
    assert texts[0].startswith("Velmora’s transport ministry")
    joined = " ".join(texts)
    for furniture in ("PUBLISHED", "READ MORE", "Telegram", "print edition", "Subscribe", "Reporting by", "PHOTO"):
        assert furniture not in joined


def test_furniture_inside_a_paragraph_is_caught_sentence_by_sentence() -> None:
    """A related-story link or a footer that follows a fact on the same line is dropped; the fact stays."""
    text = (
        "Dock workers in Velmora walked out on Monday over a pay offer from the port authority. "
        "Read more: Dock unions threaten a wider strike over pay and hours.\n"
        "The authority said talks would resume on Thursday with a new mediator present. "
        "Reporting by Ole Brandt; editing by Jana Ruskova for the Meridian wire service."
    )
    texts = [c.text for c in sentence_candidates(text, 0)]
    assert texts == [
        "Dock workers in Velmora walked out on Monday over a pay offer from the port authority.",
        "The authority said talks would resume on Thursday with a new mediator present.",
    ]


def test_summary_prefers_the_clean_variant_and_never_repeats() -> None:
    """Where two outlets carry one sentence, the apostrophe-intact variant is shown, once."""
    cands = sentence_candidates(LOST, 0) + sentence_candidates(CLEAN, 1)
    summary = summarize(cands, _weights(LOST, CLEAN))
    assert "Velmora’s transport ministry" in summary
    assert "Velmora s" not in summary and "country s" not in summary
    assert summary.count("closed the Port Alder harbour") == 1
    assert len(summary) <= DEFAULT_PARAMS.summary_max_chars
    assert "CASTEMOOR (Meridian)" not in summary


def test_summary_is_one_to_three_sentences_within_the_limit() -> None:
    """A long article still gives at most three sentences and about 400 characters."""
    long_text = "\n".join(
        f"Sentence number {i} reports that the Port Alder harbour inquiry heard witness {i} on the fire."
        for i in range(40)
    )
    summary = summarize(sentence_candidates(long_text, 0), _weights(long_text))
    assert 1 <= summary.count(".") <= 3
    assert len(summary) <= DEFAULT_PARAMS.summary_max_chars


def test_summary_of_nothing_is_empty() -> None:
    """No text, no summary (and no exception)."""
    assert summarize([], {}) == ""
    assert sentence_candidates("", 0) == []


def test_clean_sentence_repairs_tokeniser_quotes_and_datelines() -> None:
    """PTB-style quotes and spaced punctuation are repaired; a wire dateline is removed."""
    assert clean_sentence("`` We are ready , '' he said .") == "“We are ready,” he said."
    assert clean_sentence("PORT ALDER (Meridian) - The harbour closed.") == "The harbour closed."


def test_headline_picks_a_title_and_strips_the_outlet() -> None:
    """The headline is the best title; an outlet suffix goes; with no titles, a lead sentence."""
    assert clean_title("Velmora shuts harbour - Meridian", "Meridian") == "Velmora shuts harbour"
    assert clean_title("Unions warn - sources", "Meridian") == "Unions warn - sources"
    weights = _weights(LOST, CLEAN)
    titles = [("VELMORA HARBOUR!!!", "A"), ("Velmora closes Port Alder harbour after tanker fire", "B")]
    assert headline(titles, [], weights) == "Velmora closes Port Alder harbour after tanker fire"
    lead = headline([], sentence_candidates(CLEAN, 0), weights)
    assert lead.startswith("Velmora’s transport ministry closed")
    assert headline([], [], {}) == ""


def test_clean_sentence_collapses_every_kind_of_space() -> None:
    """Tabs, no-break spaces and runs of spaces collapse; space before punctuation and inside quotes goes."""
    assert clean_sentence("We\u00a0are  ready\t ,\u00a0“ he said ” .") == "We are ready, “he said”."


def test_candidates_stop_at_the_per_article_limit() -> None:
    """A long article gives its first summary_sentences_per_article content sentences, in order."""
    text = "\n".join(
        f"Witness number {i} told the Port Alder harbour inquiry what she saw on the night of the fire."
        for i in range(200)
    )
    cands = sentence_candidates(text, 2)
    assert len(cands) == DEFAULT_PARAMS.summary_sentences_per_article
    assert [c.position for c in cands] == list(range(len(cands)))
    last = DEFAULT_PARAMS.summary_sentences_per_article - 1
    assert cands[0].text.startswith("Witness number 0 ") and cands[-1].text.startswith(f"Witness number {last} ")
    assert {c.article for c in cands} == {2}


def test_prepared_titles_give_the_same_headline() -> None:
    """Titles prepared once (as the tracker keeps them) rank exactly as raw (title, outlet) pairs."""
    weights = _weights(LOST, CLEAN)
    titles = [
        ("VELMORA HARBOUR!!!", "A"),
        ("Velmora closes Port Alder harbour after tanker fire - Meridian", "Meridian"),
        ("Fire", "C"),
    ]
    prepared = [title_candidate(t, o) for t, o in titles]
    assert prepared[1].text == "Velmora closes Port Alder harbour after tanker fire"
    assert best_headline(prepared, [], weights) == headline(titles, [], weights)
    assert best_headline([], sentence_candidates(CLEAN, 0), weights) == headline(
        [], sentence_candidates(CLEAN, 0), weights
    )


def test_summary_scores_do_not_depend_on_how_a_term_set_was_built() -> None:
    """Equal term sets score exactly alike, whatever their iteration order (it changes with PYTHONHASHSEED)."""
    rng = random.Random(5)
    for _ in range(200):
        words = [f"term{rng.randrange(10_000)}" for _ in range(30)]
        weights = {w: rng.choice((1e-3, 1.0, 1e3)) * rng.random() for w in words}
        shuffled = words[:]
        rng.shuffle(shuffled)
        first, second = frozenset(words), frozenset(shuffled)
        assert first == second
        assert _centrality(first, weights) == _centrality(second, weights)


def test_candidates_taken_block_by_block_are_the_whole_text_s() -> None:
    """Lowering and scanning the text a block of lines at a time, of any size, finds the same candidates."""
    rng = random.Random(7)
    texts = [tricky_text(rng, rng.randint(5, 120)) for _ in range(2000)]
    whole = [sentence_candidates(text, 0, block_chars=10**9) for text in texts]  # one block: the plain rule
    assert sum(map(len, whole)) > 5000
    for size in (1, 60, 700):
        assert [sentence_candidates(text, 0, block_chars=size) for text in texts] == whole
    assert [sentence_candidates(text, 0) for text in texts] == whole  # the default size


def test_sentences_met_before_give_the_candidates_the_plain_rules_give() -> None:
    """Sentences prepared once and looked up again (wire copies) give what cleaning and term_set give."""
    rng = random.Random(17)
    # Texts that share sentences, as copies of one story do, and more distinct ones than the cache holds.
    pool = [raw for _ in range(600) for raw in split_sentences(tricky_text(rng, 12))]
    texts = ["\n".join(rng.choices(pool, k=rng.randint(1, 12))) for _ in range(3000)]
    found = [sentence_candidates(text, 0) for text in texts]
    assert sum(map(len, found)) > 5000
    for text, cands in zip(texts, found, strict=True):
        for c in cands:
            assert c.terms == term_set(c.text)
            assert c.text in {clean_sentence(raw) for raw in split_sentences(text)}
        summarize_module._PREPARED_SENTENCES.clear()
        assert sentence_candidates(text, 0) == cands  # as when every sentence is met for the first time
    # Each sentence as received is prepared once and then looked up, also past the bound that clears the cache.
    assert len(pool) > 2 * summarize_module.SENTENCE_CACHE_SIZE
    for raw in pool:
        s, clean, terms = summarize_module._PREPARED_SENTENCES[raw]
        assert (s, clean) == (clean_sentence(raw), cleanliness(raw))
        assert terms == (term_set(s) if 40 <= len(s) <= 320 else frozenset())


# One flaw each, so that a repair the one-search path overlooks is not hidden by another in the same sentence.
_FLAWS = (
    "China s", "the ministry s", "don t", "they re", "we ve", "we ll", "he d", "I m", "talks ,", "talks .",
    "talks ;", "talks :", "talks !", "talks ?", "50 %", "talks\t,", "talks\u00a0;", "talks\u2003:", "talks  ,",
)  # fmt: skip


def test_sentences_with_nothing_to_repair_are_cleaned_and_scored_as_the_plain_rules_do() -> None:
    """The one-search path for sentences without a repair hint gives clean_sentence's text and cleanliness."""
    rng = random.Random(13)
    raws = [raw for _ in range(1000) for raw in split_sentences(tricky_text(rng, 20))]
    words = ["officials", "said", "the", "harbour", "would", "reopen", "on", "Thursday", "after", "the", "fire"]
    for _ in range(3000):
        at = rng.randrange(len(words) + 1)
        flaw = rng.choice(_FLAWS)
        raws.append(" ".join([*words[:at], flaw, *words[at:]]) + rng.choice(("", ".", " s", " .")))
    assert sum(summarize_module._REPAIR_HINT.search(raw) is None for raw in raws) > 5000
    for raw in raws:
        assert summarize_module._cleaned(raw) == (clean_sentence(raw), cleanliness(raw)), raw


def test_clean_title_collapses_every_kind_of_whitespace_as_the_regex_did() -> None:
    """Titles are tidied by str.split, which must agree with re's \\s on every whitespace code point."""
    spaces = [chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isspace() or re.fullmatch(r"\s", chr(cp))]
    assert len(spaces) > 20
    rng = random.Random(5)
    for _ in range(3000):
        title = "".join(rng.choice([*spaces, "a", "Kim", "-", " - Meridian", "x"]) for _ in range(rng.randint(0, 14)))
        plain = re.sub(r"\s+", " ", title).strip()
        assert clean_title(title, "") == plain
        assert clean_title(title, "Meridian") == clean_title(plain, "Meridian")


def test_a_one_sentence_group_scores_as_the_general_rule_says() -> None:
    """The shortcut for groups of one variant gives the general formula's score to the last bit."""
    rng = random.Random(9)
    for _ in range(2000):
        c = Candidate("A sentence.", frozenset({"a"}), rng.randint(0, 11), rng.randint(0, 7), 1.0)
        head = rng.uniform(0.0, 5.0)
        lead = 1.0 + 0.5 / (1 + c.position)
        assert summarize_module._group_score((head, [c])) == head * lead * (1.0 + 0.25 * (1 - 1))
        other = c._replace(article=c.article + 1, position=rng.randint(0, 7))
        two = summarize_module._group_score((head, [c, other]))
        assert two == head * (1.0 + 0.5 / (1 + min(c.position, other.position))) * 1.25
