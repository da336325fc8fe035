"""A loopback HTTP feed server for tests: programmable routes, conditional GET, gzip, redirects, stalls.

It runs `http.server.ThreadingHTTPServer` on 127.0.0.1 (a free port) in a background thread, so sync and
async tests use it alike::

    with FeedServer() as server:
        server.route("/feed.xml", body=RSS, validators=True)     # ETag + Last-Modified, 304 honoured
        server.redirect("/old", "/feed.xml", status=301)
        url = server.url("/old")
        ...                                                      # fetch it with the code under test
        server.update("/feed.xml", body=NEW_RSS)                 # the feed changes mid-test
        assert server.requests[-1].headers["if-none-match"] == '"…"'

Routes answer GET (and HEAD); an unknown path is a 404. Every request is recorded with its path and its
headers (lower-case keys). Route options:

- ``body``, ``status``, ``content_type``, ``headers`` (extra response headers, sent as given);
- ``etag`` / ``last_modified`` (explicit validators) or ``validators=True`` (an ETag from the body's hash
  and a Last-Modified that moves forward on every body change); a matching If-None-Match (preferred) or
  If-Modified-Since gets a 304;
- ``gzip=True``: the body is gzip-compressed when the request accepts gzip (send a ready-made gzip body
  with ``headers={"Content-Encoding": "gzip"}`` instead, e.g. for a gzip bomb);
- ``delay_s``: stall this long before the status line (a server that never answers);
- ``chunk_size`` / ``chunk_delay_s``: send the body in pieces with a pause between them (a slow body);
- ``stall_after``: send this many body bytes, then stall until the server stops (a stalled body);
- ``endless=True``: stream the body (or zeros) forever, with no Content-Length (an endless body).
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import hashlib
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str  # as sent, query string included
    headers: dict[str, str]  # lower-case keys


@dataclass
class Route:
    """What the server answers on one path (see the module docstring for each option)."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    validators: bool = False
    gzip: bool = False
    delay_s: float = 0.0
    chunk_size: int = 0
    chunk_delay_s: float = 0.0
    stall_after: int | None = None
    endless: bool = False


class FeedServer:
    """Loopback HTTP server with programmable routes; a context manager (also `start()` / `stop()`)."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._clock = 0.0  # last Last-Modified handed out, so each body change moves it forward
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FeedServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"feed_server": self})
        httpd = _Server(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False  # stalled handlers must not hold up stop()
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled and endless responses end promptly."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FeedServer:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("FeedServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, body: bytes | str = b"", **options: Any) -> Route:
        """Serve `body` on `path` (replacing any earlier route); options are Route fields."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(body=data, **options)
        with self._lock:
            self._routes[path] = self._stamp(route, None)
        return route

    def update(self, path: str, **changes: Any) -> None:
        """Change fields of an existing route (e.g. a new body); validators move on with the body."""
        if isinstance(changes.get("body"), str):
            changes["body"] = changes["body"].encode("utf-8")
        with self._lock:
            old = self._routes[path]
            self._routes[path] = self._stamp(replace(old, **changes), old)

    def redirect(self, path: str, to: str, *, status: int = 302) -> None:
        """Answer `path` with a redirect to `to` (a path on this server or any absolute URL, ftp: included)."""
        location = self.url(to) if to.startswith("/") else to
        self.route(path, status=status, headers={"Location": location}, content_type="text/plain")

    def hits(self, path: str) -> int:
        """How many requests `path` received."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def _stamp(self, route: Route, old: Route | None) -> Route:
        """Fill in automatic validators for a route whose body is new."""
        if not route.validators or (old is not None and old.body == route.body and old.validators):
            return route
        now = max(time.time(), self._clock + 1)  # strictly later than the previous version
        self._clock = now
        digest = hashlib.blake2b(route.body, digest_size=8).hexdigest()
        return replace(route, etag=f'"{digest}"', last_modified=email.utils.formatdate(now, usegmt=True))

    def _lookup(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(path.split("?", 1)[0])


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a listen backlog for many concurrent clients."""

    # The default backlog of 5 drops SYNs when a poll cycle connects to 16 feeds at once; the client then
    # retries after 1 s, which looks like a slow server.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    """Serves one connection for the FeedServer it is bound to."""

    feed_server: FeedServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_HEAD(self) -> None:
        """Answer like GET, without a body."""
        self._serve(send_body=False)

    def do_GET(self) -> None:
        """Answer from the route table."""
        self._serve(send_body=True)

    def _serve(self, *, send_body: bool) -> None:
        server = self.feed_server
        headers = {key.lower(): value for key, value in self.headers.items()}
        with server._lock:
            server.requests.append(RecordedRequest(self.command, self.path, headers))
        route = server._lookup(self.path)
        if route is None:
            route = Route(body=b"not found\n", status=404, content_type="text/plain")
        if route.delay_s and server._stopping.wait(route.delay_s):
            return
        if self._not_modified(route, headers):
            self.send_response(304)
            self._validators(route)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = route.body
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self._validators(route)
        if route.gzip and "gzip" in headers.get("accept-encoding", ""):
            body = gzip_module.compress(body, compresslevel=6, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        for key, value in route.headers.items():
            self.send_header(key, value)
        if route.endless:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not send_body:
            return
        try:
            self._write_body(route, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (as it should on an endless body)

    def _write_body(self, route: Route, body: bytes) -> None:
        stopping = self.feed_server._stopping
        if route.endless:
            chunk = body or b"\0" * 65536
            while not stopping.is_set():
                self.wfile.write(chunk)
            return
        if route.stall_after is not None:
            self.wfile.write(body[: route.stall_after])
            self.wfile.flush()
            stopping.wait()
            self.close_connection = True
            return
        if route.chunk_size:
            for start in range(0, len(body), route.chunk_size):
                self.wfile.write(body[start : start + route.chunk_size])
                self.wfile.flush()
                if stopping.wait(route.chunk_delay_s):
                    return
            return
        self.wfile.write(body)

    def _validators(self, route: Route) -> None:
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)

    @staticmethod
    def _not_modified(route: Route, headers: dict[str, str]) -> bool:
        """Whether the request's validators match the route (If-None-Match wins over If-Modified-Since)."""
        if route.status != 200:
            return False
        if "if-none-match" in headers:
            tags = {tag.strip() for tag in headers["if-none-match"].split(",")}
            return route.etag is not None and (route.etag in tags or "*" in tags)
        since, modified = headers.get("if-modified-since"), route.last_modified
        if since and modified:
            try:
                return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False
