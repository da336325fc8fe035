"""Plain-text cleanup of feed HTML and text."""

from __future__ import annotations

import pytest

from bot.core.text import clean_line, clean_text, html_to_text, strip_invisible, truncate


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("Plain title", "Plain title"),
        ("  spaced \t out\n title ", "spaced out title"),
        ("Kim &amp; Xi &#8217;meet&#x2019; &quot;again&quot;", 'Kim & Xi ’meet’ "again"'),
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("<div>Block<br>after break<br/>and <b>bold</b> <i>inline</i></div>", "Block\nafter break\nand bold inline"),
        ("<p>Text</p><script>var x = '<p>no</p>';</script><style>p { color: red }</style><p>More</p>", "Text\nMore"),
        ("<ul><li>first</li><li>second</li></ul>", "first\nsecond"),
        ("<h2>Head</h2>Body text", "Head\nBody text"),
        ("<p>a&nbsp;b</p>", "a b"),
        ("<!-- comment --><p>kept</p>", "kept"),
        ("<p>  </p><p></p><p>only</p>", "only"),
        ("<P CLASS='x'>Upper</P><DIV>case</DIV>", "Upper\ncase"),
        ("<img src='x.jpg' alt='a photo'><p>Caption</p>", "Caption"),
        ("First para.\n\nSecond para.", "First para.\nSecond para."),  # plain text declared as HTML
        ("wrapped\nline", "wrapped line"),
        ("<p>북한과 중국</p><p>朝鲜　中国</p>", "북한과 중국\n朝鲜 中国"),  # CJK kept; ideographic space collapsed
        ("", ""),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    """Tags removed, blocks on their own lines, entities decoded, whitespace collapsed."""
    assert html_to_text(markup) == expected


def test_invisible_and_bidi_characters_are_removed() -> None:
    """Zero-width, soft hyphen, bidi controls and BOM vanish; they would break word matching."""
    sneaky = "\ufeffPyong\u00adyang\u200b \u202eKim\u202c \u2066Jong\u2069\u200d-un\x07"
    assert html_to_text(sneaky) == "Pyongyang Kim Jong-un"
    assert html_to_text(f"<p>{sneaky}</p>") == "Pyongyang Kim Jong-un"
    assert strip_invisible("a\u200fb\tc\nd") == "ab\tc\nd"


def test_private_use_marker_in_input_does_not_split_lines() -> None:
    """The internal block marker is removed from input first, so it cannot inject line breaks."""
    assert html_to_text("<p>a\ue000b</p>") == "ab"


def test_clean_line_and_clean_text() -> None:
    """clean_line makes one line; clean_text keeps lines but drops empty ones."""
    assert clean_line(" a\n\n b \u200b c ") == "a b c"
    assert clean_text(" a  b \n\n  \n c\u200b d \r\n") == "a b\nc d"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("one two three four five six", 20, "one two three four…"),
        ("abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    """Cut to the limit, at a word boundary when one is near, with an ellipsis."""
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit
