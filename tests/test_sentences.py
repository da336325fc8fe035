"""The rule-based sentence splitter."""

from __future__ import annotations

import random

import pytest

from bot.core import sentences
from bot.core.sentences import iter_sentences, split_sentences
from tests.builders import tricky_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The boat sank. Nobody was hurt.", ["The boat sank.", "Nobody was hurt."]),
        ("Mr. Varnholt met Dr. Achterberg. They talked.", ["Mr. Varnholt met Dr. Achterberg.", "They talked."]),
        ("Author J. R. Moravec spoke. It was late.", ["Author J. R. Moravec spoke.", "It was late."]),
        ("Prices rose 2.5 percent. Bonds fell.", ["Prices rose 2.5 percent.", "Bonds fell."]),
        ("The U.S. Navy left. Ships stayed.", ["The U.S. Navy left.", "Ships stayed."]),
        ("It ended at 3 p.m. on Friday. Then rain.", ["It ended at 3 p.m. on Friday.", "Then rain."]),
        ('"We are done." Then he left.', ['"We are done."', "Then he left."]),
        ("“Stop!” she said. He stopped.", ["“Stop!” she said.", "He stopped."]),
        ("Is it over? Yes! Fine.", ["Is it over?", "Yes!", "Fine."]),
        ("Talks began on Jan. 5 in Castemoor. They failed.", ["Talks began on Jan. 5 in Castemoor.", "They failed."]),
        ("Headline without stop\nBody sentence here.", ["Headline without stop", "Body sentence here."]),
        ("港口关闭了。工人受伤！", ["港口关闭了。", "工人受伤！"]),
        ("港口关闭了。工人受伤", ["港口关闭了。", "工人受伤"]),
        ("工人受伤！港口关闭了", ["工人受伤！", "港口关闭了"]),
        ("“是吗？”港口关闭了？工人受伤", ["“是吗？”港口关闭了？", "工人受伤"]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_split(text: str, expected: list[str]) -> None:
    """Boundaries fall after sentence ends, not after abbreviations, initials or decimals."""
    assert split_sentences(text) == expected


def test_long_text_without_punctuation_is_one_sentence() -> None:
    """A text with no boundaries comes back whole, whatever its length."""
    text = "word " * 10_000
    assert split_sentences(text) == [text.strip()]


def test_iter_sentences_is_lazy_and_agrees_with_split() -> None:
    """The generator gives the same sentences, and the first one without splitting the rest."""
    text = "Mr. Varnholt met Dr. Achterberg. They talked.\nIt was late. " + "More words. " * 50_000
    first = next(iter_sentences(text))
    assert first == "Mr. Varnholt met Dr. Achterberg."
    short = "Prices rose 2.5 percent. Bonds fell.\n港口关闭了。工人受伤！"
    assert list(iter_sentences(short)) == split_sentences(short)


def test_full_stop_lines_split_as_the_general_boundary_splits_them() -> None:
    """The literal-led boundary taken for lines without other stops gives exactly the general rule's sentences."""
    rng = random.Random(11)
    texts = [tricky_text(rng, rng.randint(5, 60)) for _ in range(2000)]
    lines = [stripped for text in texts for line in text.splitlines() if (stripped := line.strip())]
    fast = [list(sentences._split_line(line)) for line in lines]
    assert sum(map(len, fast)) > 20_000
    # The general rule everywhere.
    assert [list(sentences._split_line(line, sentences._BOUNDARY)) for line in lines] == fast
