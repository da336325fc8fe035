"""Canonical URLs and stable article ids."""

from __future__ import annotations

import pytest

from bot.core.urls import TRACKING_PARAMS, article_id, canonical_url, is_tracking_param, url_article_id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Story.html", "https://www.example.com/News/Story.html"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ocid=5&cmpid=6&smid=7", "https://example.com/a"),
        ("https://example.com/a?ref=rss&rss=1&at_medium=RSS&at_campaign=rss", "https://example.com/a"),
        ("https://example.com/a?traffic_source=rss&icid=rss&maca=en-rss", "https://example.com/a"),
        ("https://example.com/a?z=2&id=1&a=3", "https://example.com/a?a=3&id=1&z=2"),
        ("https://example.com/a?id=1&utm_source=x&page=2", "https://example.com/a?id=1&page=2"),
        ("https://example.com/a?q=b%20c&flag", "https://example.com/a?flag&q=b%20c"),  # kept as written
        ("https://example.com./a", "https://example.com/a"),
        ("https://[2001:db8::1]:443/a", "https://[2001:db8::1]/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("not a url", "not a url"),
        ("/relative/path", "/relative/path"),
        ("https://example.com:bad/a", "https://example.com:bad/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    """Scheme/host lower-cased, default port, fragment and tracking dropped, query sorted, path case kept."""
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    """Canonicalising twice changes nothing."""
    url = "HTTPS://Example.com:443/P?b=2&utm_source=x&a=1#f"
    assert canonical_url(canonical_url(url)) == canonical_url(url) == "https://example.com/P?a=1&b=2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a #comments", "https://example.com/a"),
        ("https://example.com/a?x=1 &utm_source=rss", "https://example.com/a?x=1"),
        ("https://example.com/a?b= &a=1 #top", "https://example.com/a?a=1 &b="),
        ("http://.//example.com/a", "http://.//example.com/a"),  # no host: left as it is, not re-parsed
    ],
)
def test_canonical_url_is_a_fixed_point_even_around_stray_spaces(url: str, expected: str) -> None:
    """A space left at the end by a dropped fragment or parameter goes too, so one pass is enough."""
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected


def test_url_article_id_is_article_id_of_the_canonical_url() -> None:
    """url_article_id(canonical) gives what article_id gives for the raw URL, without a second pass."""
    raw = "HTTPS://Example.com:443/a?utm_source=x&b=2#f"
    assert url_article_id(canonical_url(raw)) == article_id(url=raw, guid="g", title="t", text="x")
    assert url_article_id("https://example.com/a") == "024bee65af9dbae5"  # the golden id above


def test_tracking_list_is_lower_case_and_matching_ignores_case() -> None:
    """The named list is lower-case; parameter names match it case-insensitively."""
    assert all(name == name.lower() for name in TRACKING_PARAMS)
    assert is_tracking_param("UTM_SOURCE")
    assert is_tracking_param("CMP")
    assert not is_tracking_param("id")
    assert not is_tracking_param("page")


def test_article_id_is_stable_short_hex() -> None:
    """16 hex digits, the same for the same input across calls (and releases: blake2b is fixed)."""
    first = article_id(url="https://example.com/a", guid=None, title="t", text="x")
    assert first == article_id(url="https://example.com/a", guid=None, title="t", text="x")
    assert len(first) == 16
    assert int(first, 16) >= 0
    assert first == "024bee65af9dbae5"  # golden: stored ids depend on it never changing


def test_article_id_prefers_canonical_url() -> None:
    """The same article reached via two feeds (different tracking, guid, title) gets one id."""
    one = article_id(url="https://Example.com/a?utm_source=feed1#x", guid="feed1-123", title="A", text="")
    two = article_id(url="https://example.com/a?ref=rss", guid="feed2-abc", title="A (updated)", text="more")
    assert one == two
    assert one != article_id(url="https://example.com/b", guid="feed1-123", title="A", text="")


def test_article_id_falls_back_to_guid_then_content() -> None:
    """Without a URL the GUID decides; without either, the normalised title and text do."""
    by_guid = article_id(url=None, guid="urn:x:1", title="A", text="")
    assert by_guid == article_id(url="", guid=" urn:x:1 ", title="B", text="other")
    by_text = article_id(url=None, guid=None, title="Kim  meets Xi", text="In Beijing.")
    assert by_text == article_id(url=None, guid="", title="kim meets xi", text="In   Beijing.")
    assert by_text != article_id(url=None, guid=None, title="Kim meets Xi", text="In Pyongyang.")
    assert len({by_guid, by_text}) == 2


def test_url_like_guid_counts_as_the_url() -> None:
    """A permalink GUID matches another feed's link to the same article."""
    assert article_id(url=None, guid="https://example.com/a?utm_source=x", title="", text="") == article_id(
        url="https://example.com/a", guid=None, title="", text=""
    )
