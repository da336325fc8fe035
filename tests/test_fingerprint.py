"""The fingerprint's fast paths against the plain token-by-token rules, on random texts."""

from __future__ import annotations

import random
import re

from bot.core.fingerprint import _scan, fold, shingles, words

# The tokeniser and the rules of fingerprint._scan spelled out plainly, as the oracle for its shortcuts.
_GAP_AND_TOKEN = re.compile(r"([^0-9A-Za-z\u00c0-\uffff]*)([^\W\d_]+|[0-9]+(?:[.,][0-9]+)*)")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CLITIC_TAILS = {"s", "t", "ll", "ve", "re", "d", "m"}

# Pieces of text that exercise every rule: clitics of either case after an apostrophe, a space, two or
# three gap characters or a digit; capitals after each sentence mark, a line break, a quote or a comma;
# numbers with separators; runs of spaces; and (in some texts) accents, curly quotes and CJK.
_ASCII_PIECES = [
    *"aZ9stdmT .,;'\n\"!?:-()\t",
    *["ll", "re", "ve", "LL", "S", "D", "M", "RE", "VE"],
    *["Obama", "said", "US", "iPhone", "McDonald", "the", "Don", "can", "I", "China"],
    *["  ", "''", "' ", " '", ". ", ", ", '" ', ".\n", "\n\n", " - "],
    *["1,000", "2.5", "3.", ",4", "5s", "1990s", "10:30", "1.2.3", "7,"],
]
_OTHER_PIECES = ["é", "É", "ß", "Ł", "Ωmega", "北京", "人", "’", "“", "—", "\u00a0"]


def _reference_scan(text: str) -> tuple[list[str], list[bool]]:
    """_scan token by token: lower-cased tokens and whether each is capitalised mid-sentence."""
    lows: list[str] = []
    caps: list[bool] = []
    for gap, tok in _GAP_AND_TOKEN.findall(fold(text)):
        low = tok.lower()
        if low in _CLITIC_TAILS and lows and 0 < len(gap) <= 2 and gap[0] in "' ":
            if low == "t":
                lows[-1] += "t"
            continue
        if _CJK_CHAR.search(tok):
            grams = [low] if len(low) == 1 else [low[i : i + 2] for i in range(len(low) - 1)]
            lows += grams
            caps += [False] * len(grams)
            continue
        lows.append(low)
        caps.append(tok[0].isupper() and not any(c in '.!?:\n"' for c in gap))
    if caps:
        caps[0] = False
    return lows, caps


def _random_text(rng: random.Random) -> str:
    """A random mix of the pieces above: two texts in three pure ASCII (the fast path's texts)."""
    pieces = _ASCII_PIECES if rng.random() < 2 / 3 else _ASCII_PIECES + _OTHER_PIECES
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))


def test_scan_matches_the_plain_rule() -> None:
    """Random texts: _scan's whole-list shortcuts give the token-by-token tokens and capital flags."""
    rng = random.Random(11)
    for _ in range(6000):
        text = _random_text(rng)
        expected = _reference_scan(text)
        assert _scan(text) == expected, text
        assert words(text) == expected[0], text


def test_shingles_are_the_word_n_grams() -> None:
    """Every run of n consecutive tokens, joined by spaces, in order; a short text gives its whole string."""
    rng = random.Random(3)
    for _ in range(500):
        tokens = [rng.choice("abcde") * rng.randint(1, 3) for _ in range(rng.randint(0, 9))]
        for n in range(5):
            grams = [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)] if n else []
            expected = [" ".join(tokens)] if 0 < len(tokens) < n else grams
            assert shingles(tokens, n) == expected, (tokens, n)
