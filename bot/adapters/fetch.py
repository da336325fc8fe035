"""Fetching feeds over HTTP with aiohttp: conditional GET, gzip, size and time limits, manual redirects.

aiohttp, not httpx: DESIGN.md measured httpx at 10-40× more client CPU per request on loopback, and a poll
cycle must cost < 2 ms of CPU per unchanged feed (issue #7). Every failure leaves this module as a
`bot.errors.FetchError` whose `kind` is timeout, http, too_large, redirect, network or invalid_url, with the
cause chained.
"""

from __future__ import annotations

import asyncio
import os
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Literal

import aiohttp
from yarl import URL

from bot.errors import FetchError

USER_AGENT = "Wirewatch/0.1 (+https://github.com/wirewatch/wirewatch) news-alert bot"
# Feed types first; anything else still accepted (many servers send feeds as text/html or octet-stream).
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
# Only what this module can decode itself (see _Inflater): no br/zstd.
ACCEPT_ENCODING = "gzip, deflate"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Time and size limits for one fetch (the whole redirect chain counts as one fetch)."""

    connect_timeout_s: float = 10.0  # TCP (and TLS) connect to one host
    read_timeout_s: float = 20.0  # longest silence while waiting for headers or body data
    total_timeout_s: float = 30.0  # the whole fetch, redirects and a trickling body included
    max_bytes: int = 5 * _MiB  # body size, both as sent and after decompression; real feeds are < 0.3 MiB
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch brought back: a body ("ok") or nothing new ("not_modified", HTTP 304)."""

    status: Literal["ok", "not_modified"]
    http_status: int
    body: bytes  # decoded (gzip/deflate removed); empty for 304
    headers: dict[str, str] = field(hash=False)  # final response, lower-case keys; no content-encoding
    etag: str | None  # the validator to send next time (the one sent, when a 304 repeats none)
    last_modified: str | None
    final_url: str  # the URL that actually served the response
    permanent_url: str | None  # set when every hop to final_url was a 301/308: the caller may adopt it


class HTTPStatusError(FetchError):
    """The server answered with an error status (kind "http"); `http_status` and `retry_after` say more."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__("http", message)
        self.http_status = status
        self.retry_after = retry_after  # seconds, from a Retry-After header (delta-seconds or HTTP-date)


def _seconds(value: float) -> str:
    return f"{value:g}"


def _size(n: int) -> str:
    return f"{n / _MiB:g} MiB" if n >= _MiB and n % (_MiB // 4) == 0 else f"{n:,} bytes"


def _status_line(status: int, reason: str | None = None) -> str:
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {reason}".rstrip()


_DELTA_SECONDS = re.compile(r"[0-9]+")  # RFC 9110 delta-seconds: ASCII digits only
# The statuses whose Retry-After the poll schedule obeys (docs/config.md); on others it is ignored.
_RETRY_AFTER_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})


def _retry_after(value: str | None, date: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    A date is measured from the response's own Date header when it has one, so a server whose clock is
    off still gets the wait it meant; else from this machine's clock. None when absent or unreadable.
    """
    value = (value or "").strip()
    if _DELTA_SECONDS.fullmatch(value):  # not str.isdigit(): "²" passes it, and float("²") raises
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    sent = _http_date(date) or datetime.now(UTC)
    return max((when - sent).total_seconds(), 0.0)


def _http_date(value: str | None) -> datetime | None:
    """An HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT") as an aware datetime, or None."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Progress:
    """Where a fetch is, so a timeout message can say what was being waited for."""

    __slots__ = ("host", "phase")

    def __init__(self) -> None:
        self.phase = "waiting"  # connecting or waiting for the status line and headers
        self.host = ""

    def describe(self) -> str:
        if self.phase == "waiting":
            return f"waiting for a response from {self.host}"
        return "reading the body"


class _Inflater:
    """Streaming gzip/deflate decoder that never produces more than `limit` bytes (a gzip bomb stops early)."""

    def __init__(self, encoding: str, limit: int, status_line: str) -> None:
        self.encoding = encoding
        self.limit = limit
        self.status_line = status_line
        self.produced = 0
        self._pending = b""
        self._decoder: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, out: bytearray) -> None:
        """Decode one network chunk into `out`."""
        if self._decoder is None:  # deflate: zlib-wrapped per the RFC, raw in practice from some servers
            self._pending += data
            if len(self._pending) < 2:
                return
            data, self._pending = self._pending, b""
            wrapped = (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        decoder = self._decoder
        while data and not decoder.eof:
            try:
                # +1 so exceeding the limit is seen without ever holding more than limit + 1 bytes.
                chunk = decoder.decompress(data, self.limit - self.produced + 1)
            except zlib.error as exc:
                raise FetchError("http", f"{self.status_line}, but the {self.encoding} body is corrupt: {exc}") from exc
            self.produced += len(chunk)
            if self.produced > self.limit:
                raise FetchError("too_large", f"the body decompresses to more than {_size(self.limit)}")
            out += chunk
            if not chunk and decoder.unconsumed_tail == data:
                break
            data = decoder.unconsumed_tail

    def finish(self) -> None:
        """Check that the compressed stream was complete."""
        if self._decoder is None and self._pending:
            raise FetchError("http", f"{self.status_line}, but the {self.encoding} body is corrupt (1 byte)")
        if self._decoder is not None and not self._decoder.eof:
            raise FetchError("network", f"the {self.encoding} body ended early (truncated response)")


class Fetcher:
    """Fetches feeds over one pooled aiohttp session; use as `async with Fetcher() as fetcher:`."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        user_agent: str = USER_AGENT,
        pool_size: int = 32,
        per_host: int = 8,
    ) -> None:
        self.limits = limits or FetchLimits()
        self._user_agent = user_agent
        self._pool_size = pool_size
        self._per_host = per_host
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        """Open the HTTP session and its connection pool."""
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,  # bounded pool: a cycle over 1,000 feeds never opens 1,000 sockets
            limit_per_host=self._per_host,  # polite to hosts serving many of our feeds
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self._user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            # Decompression is ours (_Inflater), so a gzip bomb is counted and stopped as it inflates.
            auto_decompress=False,
            # Per-socket limits here; the limit for the whole fetch is an asyncio.timeout around it.
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.limits.connect_timeout_s, sock_read=self.limits.read_timeout_s
            ),
            cookie_jar=aiohttp.DummyCookieJar(),  # no state carried from one feed to another
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the session."""
        await self.close()

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET a feed, conditionally when a validator is given; raises FetchError on any failure."""
        if self._session is None:
            raise RuntimeError("Fetcher is not open: use `async with Fetcher() as fetcher:`")
        start = _check_url(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        progress = _Progress()
        try:
            async with asyncio.timeout(self.limits.total_timeout_s):
                return await self._follow(self._session, start, headers, progress)
        except TimeoutError as exc:  # the asyncio.timeout above; aiohttp's own timeouts are converted inside
            raise FetchError(
                "timeout",
                f"timed out after {_seconds(self.limits.total_timeout_s)} s {progress.describe()} "
                "(limit for the whole fetch)",
            ) from exc

    async def _follow(
        self, session: aiohttp.ClientSession, start: URL, headers: dict[str, str], progress: _Progress
    ) -> FetchResult:
        """Request `start`, following redirects by hand, and build the result of the final response."""
        current = start
        chain = [str(start)]
        permanent = True
        while True:
            progress.phase = "waiting"
            progress.host = current.host or str(current)
            response = await self._request(session, current, headers, progress)
            status = response.status
            if status in _REDIRECTS:
                location = response.headers.get("Location")
                response.close()
                target = _redirect_target(current, status, location)
                permanent = permanent and status in _PERMANENT_REDIRECTS
                if str(target) in chain:
                    loop = " → ".join([*chain[chain.index(str(target)) :], str(target)])
                    raise FetchError("redirect", f"redirect loop: {loop}")
                if len(chain) > self.limits.max_redirects:
                    raise FetchError("redirect", f"more than {self.limits.max_redirects} redirects (from {chain[0]})")
                chain.append(str(target))
                current = target
                continue
            return await self._finish(response, current, chain, permanent, headers, progress)

    async def _request(
        self, session: aiohttp.ClientSession, url: URL, headers: dict[str, str], progress: _Progress
    ) -> aiohttp.ClientResponse:
        """Send one GET (no redirect following) and return the response with its body unread."""
        try:
            response = await session.get(url, headers=headers, allow_redirects=False)
            progress.phase = "reading"
            return response
        except aiohttp.ConnectionTimeoutError as exc:
            raise FetchError(
                "timeout", f"timed out after {_seconds(self.limits.connect_timeout_s)} s connecting to {url.host}"
            ) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise FetchError(
                "timeout",
                f"timed out after {_seconds(self.limits.read_timeout_s)} s waiting for a response from {url.host}",
            ) from exc
        except aiohttp.ClientError as exc:
            raise _network_error(exc, url) from exc
        except OSError as exc:
            raise FetchError("network", f"could not reach {url.host}: {exc}") from exc

    async def _finish(
        self,
        response: aiohttp.ClientResponse,
        url: URL,
        chain: list[str],
        permanent: bool,
        request_headers: dict[str, str],
        progress: _Progress,
    ) -> FetchResult:
        """Turn the final response into a FetchResult (reading the body) or an HTTP error."""
        status = response.status
        final_url = str(url)
        permanent_url = final_url if permanent and len(chain) > 1 else None
        headers = {key.lower(): value for key, value in response.headers.items()}
        try:
            if status == 304:
                result = FetchResult(
                    status="not_modified",
                    http_status=status,
                    body=b"",
                    headers=headers,
                    etag=headers.get("etag") or request_headers.get("If-None-Match"),
                    last_modified=headers.get("last-modified") or request_headers.get("If-Modified-Since"),
                    final_url=final_url,
                    permanent_url=permanent_url,
                )
            elif 200 <= status < 300:
                progress.phase = "reading"
                body = await self._read_body(response, headers, _status_line(status, response.reason))
                result = FetchResult(
                    status="ok",
                    http_status=status,
                    body=body,
                    headers=headers,
                    etag=headers.get("etag"),
                    last_modified=headers.get("last-modified"),
                    final_url=final_url,
                    permanent_url=permanent_url,
                )
            else:
                raise HTTPStatusError(
                    status,
                    f"{_status_line(status, response.reason)} from {final_url}",
                    retry_after=(
                        _retry_after(headers.get("retry-after"), headers.get("date"))
                        if status in _RETRY_AFTER_STATUSES
                        else None
                    ),
                )
        except BaseException:
            response.close()  # never drain an unread (maybe endless) body back into the pool
            raise
        response.release()  # body fully read: the connection goes back to the pool for the next feed
        return result

    async def _read_body(self, response: aiohttp.ClientResponse, headers: dict[str, str], status_line: str) -> bytes:
        """Read the body in chunks, decoding gzip/deflate, stopping as soon as it passes max_bytes."""
        limit = self.limits.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise FetchError(
                "too_large", f"the body is {_size(response.content_length)}, over the {_size(limit)} limit"
            )
        encoding = headers.pop("content-encoding", "").strip().lower()
        inflater: _Inflater | None = None
        if encoding and encoding != "identity":
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError("http", f"{status_line}, but with an unsupported Content-Encoding {encoding!r}")
            inflater = _Inflater(encoding, limit, status_line)
            headers.pop("content-length", None)  # it described the compressed body
        body = bytearray()
        received = 0
        try:
            async for chunk in response.content.iter_any():
                received += len(chunk)
                if received > limit:
                    raise FetchError("too_large", f"the body is over the {_size(limit)} limit")
                if inflater is None:
                    body += chunk
                else:
                    inflater.feed(chunk, body)
            if inflater is not None:
                inflater.finish()
        except aiohttp.ServerTimeoutError as exc:
            raise FetchError(
                "timeout",
                f"timed out after {_seconds(self.limits.read_timeout_s)} s reading the body "
                f"({received:,} bytes received)",
            ) from exc
        except aiohttp.ClientError as exc:
            raise FetchError("network", f"the connection broke while reading the body: {exc}") from exc
        return bytes(body)


def _check_url(url: str) -> URL:
    """The URL to fetch, or FetchError("invalid_url") when it is not an absolute http(s) URL."""
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError) as exc:
        raise FetchError("invalid_url", f"not a valid URL: {url!r} ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError("invalid_url", f"not an http(s) URL: {url!r}")
    return parsed.with_fragment(None)


def _redirect_target(current: URL, status: int, location: str | None) -> URL:
    """Where a redirect points, made absolute; FetchError("redirect") when it is missing or not http(s)."""
    if not location:
        raise FetchError("redirect", f"{_status_line(status)} from {current} without a Location header")
    try:
        target = current.join(URL(location.strip()))
    except (ValueError, TypeError) as exc:
        raise FetchError("redirect", f"redirected to an invalid URL {location!r} ({exc})") from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError("redirect", f"redirected to a non-HTTP URL: {location}")
    return target.with_fragment(None)


def _network_error(exc: aiohttp.ClientError, url: URL) -> FetchError:
    """Our FetchError for an aiohttp connection-level failure, with a readable message."""
    where = f"{url.host}:{url.port}" if url.port else str(url.host)
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError("invalid_url", f"not a valid URL: {url} ({exc})")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError("network", f"could not resolve host {url.host}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        # asyncio's own text is "Connect call failed ('127.0.0.1', 8080)"; the errno says why.
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno else str(exc.os_error)
        return FetchError("network", f"could not connect to {where}: {reason}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError("network", f"{where} closed the connection without a response")
    if isinstance(exc, aiohttp.ClientResponseError):
        return FetchError("network", f"{where} sent a malformed HTTP response: {exc.message}")
    return FetchError("network", f"request to {where} failed: {exc}")
