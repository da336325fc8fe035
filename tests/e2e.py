"""Helpers for the end-to-end tests of the running service: a newsroom of loopback feeds, settings, runners.

The story texts of the wire story, its near-copy and its follow-up are the demo's (bot/demo_feeds.py, known
to cluster correctly); the unrelated event and the off-topic item are written here. Every item is dated
relative to the test's start, so the service's real clock sees them as the demo does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import pytest

from bot.app import ServiceOptions, run_service
from bot.demo_feeds import FOLLOW_UP, INDEPENDENT, NEAR_COPY, WIRE_STORY
from bot.settings import Settings, load_settings
from tests.environ import clean_environ, write_config
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI
from tests.fakes import FeedServer

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "@wirewatch_alerts"

FEEDS = {"Northwire": "/northwire.xml", "Harbour Post": "/harbour-post.xml", "Capital Daily": "/capital-daily.xml"}

ART_TOUR = """\
SHENYANG, China - A North Korean song and dance ensemble opened a month-long concert tour of
northeastern China on Friday with a sold-out evening at the Shengjing Grand Theatre, organisers said.

The Mansudae Art Troupe will go on to perform in Harbin and Changchun before closing the tour in
Dalian, according to the provincial culture bureau of Liaoning.

Tickets for the opening night sold out within hours, and local television carried the concert live.
"""


@dataclass(frozen=True)
class Item:
    """One feed item: `slug` makes its link and guid unique; `age` is how long before the test it was published."""

    feed: str
    slug: str
    title: str
    body: str
    age: timedelta

    @property
    def link(self) -> str:
        """The article's URL as the feed links it (a marker for which event an alert shows)."""
        host = self.feed.lower().replace(" ", "-")
        return f"https://{host}.example/{self.slug}"


WIRE = Item(
    "Northwire",
    "china-north-korea-bridge-freight",
    "China, North Korea agree to reopen border bridge to freight",
    WIRE_STORY,
    timedelta(days=7, hours=3),
)
OFF_TOPIC = Item(
    "Northwire",
    "copper-prices-climb",
    "Copper climbs to a three-month high on mine strike",
    "Copper prices rose on Monday after workers at a large mine in Chile walked out over pay, traders said.",
    timedelta(days=7, hours=2),
)
COPY = Item(
    "Harbour Post",
    "asia/china-north-korea-bridge",
    "Beijing and Pyongyang to reopen Yalu bridge to cargo trucks next month",
    NEAR_COPY,
    timedelta(days=7, hours=1),
)
SECOND_OUTLET = Item(
    "Capital Daily",
    "world/yalu-bridge-trade-protocol",
    "Cargo to cross Yalu bridge again under China-North Korea trade protocol",
    INDEPENDENT,
    timedelta(days=6, hours=22),
)
UNRELATED = Item(
    "Capital Daily",
    "culture/north-korean-troupe-tours-china",
    "North Korean art troupe begins concert tour of China",
    ART_TOUR,
    timedelta(days=2),
)
FOLLOW = Item(
    "Northwire",
    "first-lorries-cross-yalu-bridge",
    "First Chinese lorries cross into North Korea as bridge reopens",
    FOLLOW_UP,
    timedelta(minutes=20),
)


class Newsroom:
    """The feeds of the tests on a FeedServer: `publish` adds items to their feed (ETags follow the body)."""

    def __init__(self, server: FeedServer, start: datetime | None = None) -> None:
        self.server = server
        self.start = start or datetime.now(UTC)
        self.items: dict[str, list[Item]] = {name: [] for name in FEEDS}
        for name in FEEDS:
            self._serve(name)

    def publish(self, *items: Item) -> None:
        """Put `items` on their feeds."""
        for item in items:
            self.items[item.feed].append(item)
        for name in {item.feed for item in items}:
            self._serve(name)

    def url(self, name: str) -> str:
        """The loopback URL of one feed."""
        return self.server.url(FEEDS[name])

    def _serve(self, name: str) -> None:
        self.server.route(FEEDS[name], body=self.rss(name), validators=True)

    def rss(self, name: str) -> str:
        """One feed's RSS document, newest item first."""
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<rss version="2.0"><channel><title>{escape(name)}</title><link>https://example.org/</link>',
        ]
        for item in sorted(self.items[name], key=lambda i: i.age):
            html = "".join(f"<p>{para.strip()}</p>" for para in item.body.split("\n\n") if para.strip())
            parts.append(
                f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
                f'<guid isPermaLink="false">{escape(item.link)}</guid>'
                f"<pubDate>{format_datetime(self.start - item.age)}</pubDate>"
                f"<description>{escape(html)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "\n".join(parts)


def service_env(folder: Path, newsroom: Newsroom, botapi: FakeBotAPI | None, **extra: str) -> dict[str, str]:
    """The Wirewatch environment of one test: loopback feeds and Bot API, a database in `folder`."""
    env = {
        # The newsroom's feeds polled every second, and the shipped topic rules.
        "WIREWATCH_CONFIG_DIR": str(write_config(folder, {n: newsroom.url(n) for n in FEEDS}, interval_s=1)),
        "WIREWATCH_DB": str(folder / "wirewatch.db"),
        "WIREWATCH_BACKLOG_HOURS": str(24 * 10),  # the story starts a week ago, as in the demo
        "WIREWATCH_EDIT_INTERVAL_S": "0.2",
        "LOG_LEVEL": "DEBUG",
    }
    if botapi is not None:
        env |= {
            "TELEGRAM_BOT_TOKEN": botapi.token,
            "TELEGRAM_CHANNEL": CHANNEL,
            "TELEGRAM_BASE_URL": botapi.base_url,
            "TELEGRAM_ADMIN_IDS": "1001",
        }
    return env | extra


def settings_for(env: Mapping[str, str]) -> Settings:
    """Settings as `wirewatch run` would load them from `env`."""
    return load_settings(env)


async def until(task: asyncio.Task[Any], predicate: Callable[[], bool], within: float = 8.0) -> None:
    """Wait until `predicate()` holds; fail early, with the service's own error, if the service ended."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if task.done():
            raise AssertionError(f"the service stopped early: {task.result() if not task.cancelled() else 'cancelled'}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within:.1f} s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(settings: Settings, **options: Any) -> AsyncIterator[asyncio.Task[int]]:
    """Run the real service in this event loop; it is stopped (cancelled) when the block ends."""
    opts = ServiceOptions(
        tick_s=0.2, stop_after_s=options.pop("stop_after_s", 30.0), install_signal_handlers=False, **options
    )
    task = asyncio.create_task(run_service(settings, options=opts))
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Process:
    """`wirewatch run` in a child process, its stdout and stderr written to files."""

    def __init__(self, folder: Path, env: Mapping[str, str], name: str = "run") -> None:
        base = clean_environ()
        self.out_path = folder / f"{name}.out"
        self.err_path = folder / f"{name}.err"
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=base | dict(env) | {"PYTHONUNBUFFERED": "1"},
            stdout=self._out,
            stderr=self._err,
            cwd=REPO,
        )

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the child."""
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the exit status; the files are closed afterwards."""
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.returncode is not None:
                self._out.close()
                self._err.close()

    def kill(self) -> None:
        """SIGKILL the child (no cleanup of any kind) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait(10)

    @property
    def output(self) -> str:
        """Everything the child wrote on stdout and stderr so far."""
        for stream in (self._out, self._err):
            if not stream.closed:
                stream.flush()
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def alive(self) -> bool:
        """True while the child runs."""
        return self.proc.poll() is None


@contextlib.contextmanager
def process(folder: Path, env: Mapping[str, str], name: str = "run") -> Iterator[Process]:
    """A `wirewatch run` child that is killed when the block ends, whatever happened."""
    child = Process(folder, env, name)
    try:
        yield child
    finally:
        child.kill()


def channel_posts(botapi: FakeBotAPI, item: Item) -> list[Any]:
    """The channel messages sent (sendMessage) whose text links `item`'s article."""
    return [s for s in botapi.sent_to(CHANNEL) if item.link in s.text]


__all__ = [
    "CHANNEL",
    "COPY",
    "DEFAULT_TOKEN",
    "FOLLOW",
    "OFF_TOPIC",
    "SECOND_OUTLET",
    "UNRELATED",
    "WIRE",
    "Newsroom",
    "Process",
    "channel_posts",
    "process",
    "running",
    "service_env",
    "settings_for",
    "until",
]


@pytest.fixture
def botapi() -> Iterator[FakeBotAPI]:
    """A loopback Bot API server."""
    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def newsroom() -> Iterator[Newsroom]:
    """The test feeds on a loopback feed server, empty at first."""
    with FeedServer() as server:
        yield Newsroom(server)
