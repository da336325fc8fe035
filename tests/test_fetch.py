"""The real Fetcher against the loopback FeedServer: every outcome a feed fetch can have."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.adapters.fetch import USER_AGENT, Fetcher, FetchLimits, FetchResult, HTTPStatusError
from bot.errors import FetchError
from tests.fakes import FeedServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Loopback</title>
<item><title>One</title><link>https://example.org/1</link></item>
</channel></rss>
"""
# Short limits keep the failure tests fast; the defaults are tested separately.
FAST = FetchLimits(connect_timeout_s=1, read_timeout_s=0.3, total_timeout_s=1.0, max_bytes=64 * 1024)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A started FeedServer, stopped after the test."""
    with FeedServer() as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    """An open Fetcher with short test limits."""
    async with Fetcher(FAST) as open_fetcher:
        yield open_fetcher


async def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    """The FetchError a fetch raises (the test fails if it returns instead)."""
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url)
    return info.value


def test_default_limits_are_sane() -> None:
    """Defaults: 10 s connect, 20 s read, 30 s total, 5 MiB, 5 redirects."""
    limits = FetchLimits()
    assert (limits.connect_timeout_s, limits.read_timeout_s, limits.total_timeout_s) == (10, 20, 30)
    assert limits.max_bytes == 5 * 1024 * 1024
    assert limits.max_redirects == 5


async def test_200_returns_body_headers_and_validators(server: FeedServer, fetcher: Fetcher) -> None:
    """A 200 gives the body, lower-case headers, the validators and the final URL."""
    server.route("/feed.xml", RSS, etag='"v1"', last_modified="Tue, 17 Feb 2026 18:00:00 GMT")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result == FetchResult(
        status="ok",
        http_status=200,
        body=RSS,
        headers=result.headers,
        etag='"v1"',
        last_modified="Tue, 17 Feb 2026 18:00:00 GMT",
        final_url=server.url("/feed.xml"),
        permanent_url=None,
    )
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(key == key.lower() for key in result.headers)


async def test_request_headers_identify_the_bot(server: FeedServer, fetcher: Fetcher) -> None:
    """Requests carry the User-Agent, a feed Accept header and gzip/deflate Accept-Encoding, no cookies."""
    server.route("/feed.xml", RSS, headers={"Set-Cookie": "session=1"})
    await fetcher.fetch(server.url("/feed.xml"))
    await fetcher.fetch(server.url("/feed.xml"))
    sent = server.requests[-1].headers
    assert sent["user-agent"] == USER_AGENT
    assert "application/rss+xml" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "cookie" not in sent


async def test_304_with_etag(server: FeedServer, fetcher: Fetcher) -> None:
    """A matching If-None-Match gets not_modified with an empty body and the ETag kept."""
    server.route("/feed.xml", RSS, validators=True)
    first = await fetcher.fetch(server.url("/feed.xml"))
    second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)
    assert server.requests[-1].headers["if-none-match"] == first.etag
    assert (second.status, second.http_status, second.body, second.etag) == ("not_modified", 304, b"", first.etag)


async def test_304_with_last_modified_only(server: FeedServer, fetcher: Fetcher) -> None:
    """A server with only Last-Modified answers If-Modified-Since with a 304."""
    server.route("/feed.xml", RSS, last_modified="Tue, 17 Feb 2026 18:00:00 GMT")
    first = await fetcher.fetch(server.url("/feed.xml"))
    assert first.etag is None
    second = await fetcher.fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert server.requests[-1].headers["if-modified-since"] == "Tue, 17 Feb 2026 18:00:00 GMT"
    assert second.status == "not_modified"
    assert second.last_modified == first.last_modified


async def test_changed_feed_is_fetched_again(server: FeedServer, fetcher: Fetcher) -> None:
    """After the body changes, the old ETag no longer matches and the new body comes back."""
    server.route("/feed.xml", RSS, validators=True)
    first = await fetcher.fetch(server.url("/feed.xml"))
    server.update("/feed.xml", body=RSS.replace(b"One", b"Two"))
    second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified)
    assert second.status == "ok"
    assert b"Two" in second.body
    assert second.etag != first.etag


@pytest.mark.parametrize(
    ("status", "text"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (410, "HTTP 410 Gone")]
)
async def test_http_errors(server: FeedServer, fetcher: Fetcher, status: int, text: str) -> None:
    """4xx/5xx raise kind "http" with the status in the message and on the error."""
    server.route("/feed.xml", b"nope", status=status)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, HTTPStatusError)
    assert error.kind == "http"
    assert error.http_status == status
    assert str(error).startswith(text)


async def test_unknown_path_is_404(server: FeedServer, fetcher: Fetcher) -> None:
    """A path with no route is a 404."""
    error = await fetch_error(fetcher, server.url("/missing.xml"))
    assert str(error).startswith("HTTP 404 Not Found")


async def test_429_reports_retry_after(server: FeedServer, fetcher: Fetcher) -> None:
    """A 429 with Retry-After in seconds exposes it for the caller's backoff."""
    server.route("/feed.xml", b"slow down", status=429, headers={"Retry-After": "120"})
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, HTTPStatusError)
    assert error.retry_after == 120


async def test_retry_after_as_an_http_date_is_measured_from_the_response_date(
    server: FeedServer, fetcher: Fetcher
) -> None:
    """Retry-After may be an HTTP-date: the wait is its distance from the server's own Date header."""
    server.route(
        "/feed.xml",
        b"maintenance",
        status=503,
        # A second Date after the server's own: the last one counts, so the server's clock is fixed here.
        headers={"Date": "Mon, 02 Mar 2026 12:00:00 GMT", "Retry-After": "Mon, 02 Mar 2026 12:10:00 GMT"},
    )
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, HTTPStatusError)
    assert (error.http_status, error.retry_after) == (503, 600)


@pytest.mark.parametrize(
    "value",
    [
        "soon",  # neither seconds nor a date: the caller's backoff applies
        "\u00c2\u00b2",  # "²" in UTF-8 on the wire: str.isdigit() is true, float() refuses it
        "\u00d9\u00a1\u00d9\u00a2",  # "١٢", Arabic-Indic digits in UTF-8: not the ASCII DIGITs of RFC 9110
        "12.5",
        "-30",
    ],
)
async def test_a_retry_after_that_is_not_ascii_delta_seconds_or_a_date_is_ignored(
    server: FeedServer, fetcher: Fetcher, value: str
) -> None:
    """Only ASCII digits are delta-seconds: anything else is no wait, and never an exception other than
    HTTPStatusError (a ValueError escaping the fetcher would abort the whole poll cycle)."""
    server.route("/feed.xml", b"slow down", status=429, headers={"Retry-After": value})
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, HTTPStatusError) and error.retry_after is None


@pytest.mark.parametrize("status", [500, 404])
async def test_retry_after_counts_only_on_429_and_503(server: FeedServer, fetcher: Fetcher, status: int) -> None:
    """As documented (docs/config.md), only a 429 or 503 carries a wait; other errors back off as usual."""
    server.route("/feed.xml", b"no", status=status, headers={"Retry-After": "86400"})
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, HTTPStatusError) and error.retry_after is None


async def test_timeout_waiting_for_response(server: FeedServer, fetcher: Fetcher) -> None:
    """A server that never answers trips the read timeout, with a readable message."""
    server.route("/feed.xml", RSS, delay_s=5)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "timeout"
    assert str(error) == "timed out after 0.3 s waiting for a response from 127.0.0.1"
    assert error.__cause__ is not None


async def test_timeout_on_a_stalled_body(server: FeedServer, fetcher: Fetcher) -> None:
    """A body that stops half-way trips the read timeout while reading the body."""
    server.route("/feed.xml", RSS, stall_after=20)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "timeout"
    assert str(error).startswith("timed out after 0.3 s reading the body")


async def test_total_timeout_on_a_trickling_body(server: FeedServer) -> None:
    """A body that trickles in never trips the read timeout, but the whole-fetch limit stops it."""
    server.route("/feed.xml", RSS * 20, chunk_size=10, chunk_delay_s=0.05)
    limits = FetchLimits(read_timeout_s=1, total_timeout_s=0.5)
    started = time.monotonic()
    async with Fetcher(limits) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert time.monotonic() - started < 2
    assert error.kind == "timeout"
    assert str(error) == "timed out after 0.5 s reading the body (limit for the whole fetch)"


async def test_garbage_body_passes_fetch(server: FeedServer, fetcher: Fetcher) -> None:
    """Fetching does not judge content: a garbage body is returned as is (parsing rejects it later)."""
    garbage = bytes(range(256)) * 4
    server.route("/feed.xml", garbage, content_type="application/octet-stream")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == garbage


async def test_oversize_body_with_content_length(server: FeedServer, fetcher: Fetcher) -> None:
    """A declared Content-Length over the limit is refused before reading."""
    server.route("/feed.xml", b"x" * (FAST.max_bytes + 1))
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "too_large"
    assert str(error) == "the body is 65,537 bytes, over the 65,536 bytes limit"


async def test_endless_body_is_cut_at_the_limit(server: FeedServer, fetcher: Fetcher) -> None:
    """A body with no length that never ends stops at max_bytes."""
    server.route("/feed.xml", endless=True)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "too_large"
    assert "over the 65,536 bytes limit" in str(error)


async def test_gzip_body_is_decoded(server: FeedServer, fetcher: Fetcher) -> None:
    """A gzip-encoded response comes back decoded, without content-encoding in the headers."""
    server.route("/feed.xml", RSS, gzip=True)
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.body == RSS
    assert "content-encoding" not in result.headers


async def test_deflate_body_is_decoded_wrapped_or_raw(server: FeedServer, fetcher: Fetcher) -> None:
    """Content-Encoding deflate is read both zlib-wrapped (the RFC) and raw (what some servers send)."""
    server.route("/wrapped.xml", zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    server.route("/raw.xml", raw.compress(RSS) + raw.flush(), headers={"Content-Encoding": "deflate"})
    assert (await fetcher.fetch(server.url("/wrapped.xml"))).body == RSS
    assert (await fetcher.fetch(server.url("/raw.xml"))).body == RSS


async def test_gzip_bomb_is_stopped_while_inflating(server: FeedServer, fetcher: Fetcher) -> None:
    """A small gzip body that inflates past max_bytes is stopped, never held in memory whole."""
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < FAST.max_bytes
    server.route("/feed.xml", bomb, headers={"Content-Encoding": "gzip"})
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "too_large"
    assert str(error) == "the body decompresses to more than 65,536 bytes"


async def test_corrupt_gzip_is_an_http_error(server: FeedServer, fetcher: Fetcher) -> None:
    """A body labelled gzip that is not gzip fails readably."""
    server.route("/feed.xml", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "http"
    assert str(error).startswith("HTTP 200 OK, but the gzip body is corrupt")


async def test_redirect_chain_is_followed(server: FeedServer, fetcher: Fetcher) -> None:
    """A 302 → 301 chain is followed; the final URL is reported, not as permanent (one hop was 302)."""
    server.route("/feed.xml", RSS)
    server.redirect("/a", "/b", status=302)
    server.redirect("/b", "/feed.xml", status=301)
    result = await fetcher.fetch(server.url("/a"))
    assert result.body == RSS
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_url is None


async def test_permanent_redirect_is_reported(server: FeedServer, fetcher: Fetcher) -> None:
    """When every hop is 301/308, the final URL is offered as the feed's new permanent URL."""
    server.route("/new.xml", RSS)
    server.redirect("/old.xml", "/mid.xml", status=301)
    server.redirect("/mid.xml", "/new.xml", status=308)
    result = await fetcher.fetch(server.url("/old.xml"))
    assert result.permanent_url == server.url("/new.xml")


async def test_relative_location_is_resolved(server: FeedServer, fetcher: Fetcher) -> None:
    """A relative Location header is resolved against the URL that sent it."""
    server.route("/feeds/new.xml", RSS)
    server.route("/feeds/old.xml", status=301, headers={"Location": "new.xml"})
    result = await fetcher.fetch(server.url("/feeds/old.xml"))
    assert result.final_url == server.url("/feeds/new.xml")


async def test_conditional_headers_follow_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    """Validators are sent to the redirect target too, so a moved, unchanged feed still costs a 304."""
    server.route("/new.xml", RSS, etag='"v1"')
    server.redirect("/old.xml", "/new.xml", status=301)
    result = await fetcher.fetch(server.url("/old.xml"), etag='"v1"')
    assert result.status == "not_modified"
    assert result.permanent_url == server.url("/new.xml")


async def test_redirect_loop(server: FeedServer, fetcher: Fetcher) -> None:
    """A → B → A is reported as a loop naming the URLs."""
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    error = await fetch_error(fetcher, server.url("/a"))
    assert error.kind == "redirect"
    assert str(error) == f"redirect loop: {server.url('/a')} → {server.url('/b')} → {server.url('/a')}"


async def test_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    """More than max_redirects hops fail; exactly max_redirects succeed."""
    for hop in range(6):
        server.redirect(f"/r{hop}", f"/r{hop + 1}")
    server.route("/r6", RSS)
    assert (await fetcher.fetch(server.url("/r1"))).body == RSS  # 5 redirects
    error = await fetch_error(fetcher, server.url("/r0"))  # 6 redirects
    assert error.kind == "redirect"
    assert str(error).startswith("more than 5 redirects")


@pytest.mark.parametrize("target", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)"])
async def test_redirect_to_non_http_scheme(server: FeedServer, fetcher: Fetcher, target: str) -> None:
    """A redirect to anything but http(s) is refused without following it."""
    server.redirect("/feed.xml", target)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "redirect"
    assert str(error) == f"redirected to a non-HTTP URL: {target}"


async def test_redirect_without_location(server: FeedServer, fetcher: Fetcher) -> None:
    """A 301 with no Location header is a redirect error."""
    server.route("/feed.xml", status=301)
    error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.kind == "redirect"
    assert "without a Location header" in str(error)


async def test_connection_refused(fetcher: Fetcher) -> None:
    """Nothing listening on the port: kind "network", saying the connection was refused."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await fetch_error(fetcher, f"http://127.0.0.1:{port}/feed.xml")
    assert error.kind == "network"
    assert str(error) == f"could not connect to 127.0.0.1:{port}: Connection refused"
    assert error.__cause__ is not None


@pytest.mark.parametrize("url", ["", "feed.xml", "ftp://example.org/feed.xml", "http://", "file:///etc/passwd"])
async def test_invalid_url(fetcher: Fetcher, url: str) -> None:
    """Only absolute http(s) URLs are fetched."""
    error = await fetch_error(fetcher, url)
    assert error.kind == "invalid_url"


async def test_fetch_needs_an_open_fetcher() -> None:
    """Using a Fetcher outside `async with` is a programming error, said plainly."""
    with pytest.raises(RuntimeError, match="async with"):
        await Fetcher().fetch("http://127.0.0.1/")


async def test_many_fetches_share_the_pool(server: FeedServer, fetcher: Fetcher) -> None:
    """Concurrent fetches of many feeds all succeed through the bounded pool."""
    for n in range(40):
        server.route(f"/f{n}.xml", RSS.replace(b"One", str(n).encode()))
    results = await asyncio.gather(*(fetcher.fetch(server.url(f"/f{n}.xml")) for n in range(40)))
    assert [r.status for r in results] == ["ok"] * 40
    assert results[7].body.count(b"<title>7</title>") == 1


async def test_total_timeout_while_waiting_for_headers(server: FeedServer) -> None:
    """With a read timeout longer than the total, the total limit names what was being waited for."""
    server.route("/feed.xml", RSS, delay_s=5)
    async with Fetcher(FetchLimits(read_timeout_s=5, total_timeout_s=0.3)) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert str(error) == "timed out after 0.3 s waiting for a response from 127.0.0.1 (limit for the whole fetch)"


def test_feed_server_serves_sync_clients_too(server: FeedServer) -> None:
    """FeedServer works from plain sync code (urllib), records requests and honours validators."""
    import urllib.error
    import urllib.request

    server.route("/feed.xml", RSS, validators=True)
    with urllib.request.urlopen(server.url("/feed.xml"), timeout=5) as response:
        assert response.read() == RSS
        etag = response.headers["ETag"]
    request = urllib.request.Request(server.url("/feed.xml"), headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as info:  # urllib reports a 304 as an error
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 304
    assert server.hits("/feed.xml") == 2
    assert server.requests[-1].headers["if-none-match"] == etag
