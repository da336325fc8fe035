"""Dates and quantities read from text, and how they move the event decision."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime

import pytest

from bot.core import anchors
from bot.core.anchors import MAX_FOUND, NO_ANCHORS, find_anchors
from bot.core.cluster import EventIndex
from bot.core.tuning import DEFAULT_PARAMS
from bot.models import Article

T0 = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)


def _day(y: int, m: int, d: int) -> int:
    return date(y, m, d).toordinal()


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("The summit opened on March 4, 2029 in Castemoor.", {_day(2029, 3, 4)}),
        ("Talks began on 4 March 2029 and ended a week later.", {_day(2029, 3, 4)}),
        ("It was signed on the 16th of December 2028, aides said.", {_day(2028, 12, 16)}),
        ("The deal, dated Sept. 9, 2029, was leaked.", {_day(2029, 9, 9)}),
        ("Revenue rose in 2029 and again in 2030.", set()),  # a year alone is no date
        ("Ships were booked for February 31, 2029.", set()),  # no such day
        ("The fund paid $2029 and 12,2029 more.", set()),  # numbers, not years
    ],
)
def test_full_dates_are_read(text: str, dates: set[int]) -> None:
    """Day, month name and year in either order give a date; anything less gives none."""
    assert set(find_anchors(text).dates) == dates


def test_dates_on_outlet_furniture_lines_are_ignored() -> None:
    """A PUBLISHED line or a print-edition note dates the page, not the happening."""
    text = (
        "PUBLISHED : Thursday, 2 May, 2029, 1:32pm\n"
        "The harbour reopened on May 1, 2029 after repairs.\n"
        "A version of this article appeared in the print edition on May 3, 2029."
    )
    assert set(find_anchors(text).dates) == {_day(2029, 5, 1)}


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("A magnitude 6.1 earthquake shook the coast.", ("magnitude", 6.1)),
        ("The 5.6-magnitude quake was felt inland.", ("magnitude", 5.6)),
        ("The blast killed 12 people at the depot.", None),  # "killed 12": the count follows, not read
        ("At least 12 people were killed in the blast.", ("dead", 12.0)),
        ("Five people were injured when the roof fell.", ("hurt", 5.0)),
        ("The storm hit the island, killing at least 40.", ("dead", 40.0)),
        ("The club offered $200 million over eight years.", ("money", 200_000_000.0)),
        ("Thieves took 80 million euros from the vault.", ("money", 80_000_000.0)),
        ("He paid $2,500 for the licence.", ("money", 2000.0)),  # to thousands, half to even
        # A date, a year or half a number word before the count is not the count.
        ("By late Monday, May 3, 12 people were killed.", ("dead", 12.0)),
        ("In 2009, 12 people died in the floods.", ("dead", 12.0)),
        ("An attack in 2008 killed three soldiers.", None),
        ("Twenty-five people were killed.", None),
        ("In 2009, 5 million dollars went missing.", ("money", 5_000_000.0)),
    ],
)
def test_quantities_are_read_by_kind(text: str, quantity: tuple[str, float] | None) -> None:
    """Money, quake magnitudes and counts of dead or hurt come out with their kind."""
    found = find_anchors(text).quantities
    assert found == (frozenset() if quantity is None else frozenset({quantity}))


def test_text_without_anchors_gives_the_shared_empty_value() -> None:
    """Most texts state none: they cost no new object."""
    assert find_anchors("Officials met in Castemoor to discuss the harbour.") is NO_ANCHORS
    assert find_anchors("") is NO_ANCHORS


def test_a_hostile_text_yields_a_bounded_number_of_anchors() -> None:
    """A timeline of thousands of dates or tolls keeps at most MAX_FOUND of each (and reads only its start)."""
    dates = "".join(f"On March {d % 28 + 1}, {1950 + d % 70} it rained. " for d in range(5000))
    tolls = "".join(f"{n} people were killed. " for n in range(5000))
    found = find_anchors(dates + tolls)
    assert 0 < len(found.dates) <= MAX_FOUND
    assert len(find_anchors(tolls).quantities) <= MAX_FOUND


def test_the_term_hint_skips_patterns_whose_key_word_is_absent() -> None:
    """With the text's content terms at hand, a quantity is looked for only where its key word is one."""
    text = "A magnitude 6.1 earthquake shook the coast."
    assert find_anchors(text, {"earthquake", "coast"}).quantities == frozenset()
    assert find_anchors(text, {"magnitude", "earthquake"}).quantities == {("magnitude", 6.1)}


QUAKE_ONE = (
    "A strong earthquake struck the Velmora coast early on Tuesday, damaging homes and roads around the port "
    "of Castemoor, the national seismic office said.\n"
    "The quake had a magnitude of 6.1 and was felt as far as the capital, where office workers ran into the "
    "streets.\nAt least 12 people were killed and rescue teams were searching collapsed buildings."
)
QUAKE_ONE_AGAIN = (
    "An earthquake of magnitude 6.1 shook the Velmora coast on Tuesday, leaving 12 people dead near Castemoor "
    "and cutting power to thousands of homes, the seismic office said.\n"
    "Rescue teams searched collapsed buildings in the port through the morning."
)
QUAKE_OTHER = (
    "An earthquake of magnitude 5.2 shook the Velmora coast on Tuesday, leaving 3 people dead near Castemoor "
    "and cutting power to thousands of homes, the seismic office said.\n"
    "Rescue teams searched collapsed buildings in the port through the morning."
)


def _score(first: str, second: str, **params: float) -> tuple[str, float]:
    """Assign two texts at the same time; the second's kind of assignment and score."""
    index = EventIndex(dataclasses.replace(DEFAULT_PARAMS, **params))
    index.assign(Article("a1", "Wire One", "https://one.example/1", "", first, T0), T0)
    got = index.assign(Article("a2", "Paper Two", "https://two.example/2", "", second, T0), T0)
    return got.kind, got.score


def test_a_contradicting_quantity_lowers_the_join_score_and_a_shared_one_does_not() -> None:
    """Another magnitude and toll for the same kind of quake costs the penalty; the same figures cost nothing."""
    penalty = DEFAULT_PARAMS.anchor_quantity_penalty
    _, same = _score(QUAKE_ONE, QUAKE_ONE_AGAIN)
    _, same_without = _score(QUAKE_ONE, QUAKE_ONE_AGAIN, anchor_quantity_penalty=0.0)
    assert same == same_without
    _, other = _score(QUAKE_ONE, QUAKE_OTHER)
    _, other_without = _score(QUAKE_ONE, QUAKE_OTHER, anchor_quantity_penalty=0.0)
    assert other == pytest.approx(other_without - penalty, abs=1e-3)


def test_a_shared_date_raises_the_score_unless_it_is_the_publication_day() -> None:
    """The day a happening took place, named by two reports, is evidence; today's date on both is not."""
    bonus = DEFAULT_PARAMS.anchor_date_bonus
    dated = QUAKE_ONE + "\nThe last quake of this size hit the coast on March 9, 2027."
    dated_again = QUAKE_ONE_AGAIN + "\nA quake of similar size struck on March 9, 2027."
    _, with_bonus = _score(dated, dated_again)
    _, without = _score(dated, dated_again, anchor_date_bonus=0.0)
    assert with_bonus == pytest.approx(without + bonus, abs=1e-3)
    today = QUAKE_ONE + "\nThe office issued its report on May 4, 2031."
    today_again = QUAKE_ONE_AGAIN + "\nThe report came out on May 4, 2031."
    _, on_the_day = _score(today, today_again)
    _, on_the_day_without = _score(today, today_again, anchor_date_bonus=0.0)
    assert on_the_day == on_the_day_without


def test_year_matches_are_the_year_patterns_finditer_matches() -> None:
    """Years found from the places "19" and "20" occur are exactly the regex's own scan, in order."""
    rng = random.Random(8)
    pieces = ["19", "20", "2019", "1920", "201", "9", "0", " ", ",", ".", "$", "a", "x2020y", "\n", "192020"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert [m.span() for m in anchors._year_matches(text)] == [m.span() for m in anchors._YEAR.finditer(text)]
