"""Hostile feeds served on loopback, all in ONE poll cycle of the real Pipeline beside good feeds.

The cycle runs in-process with `SHORT_LIMITS` (connect 1 s, read 1.5 s, whole fetch 2.5 s) handed to the
real `Fetcher`, so a 30-second stall or a trickling body fails in ~2 s; the production limits differ only
in their numbers (10 / 20 / 30 s). Every hostile feed must end as `error` with a readable reason, or be read
safely; the good feeds of the same cycle must be stored and alerted; time and memory stay bounded.
"""

from __future__ import annotations

import asyncio
import resource
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.fetch import Fetcher
from bot.adapters.store import Store
from bot.models import Feed
from bot.pipeline import CycleReport, FeedOutcome
from tests.builders import Clock
from tests.fakes import FeedServer
from tests.faults.helpers import HEADLINES, SHORT_LIMITS, Item, gzip_bomb, pipeline, rss, story

SECRET = "WIREWATCH-LOCAL-FILE-MARKER-7f3a"
BILLION_LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
HUGE_ITEMS = 10_000


@dataclass
class Cycle:
    """One finished cycle over every hostile feed, with what it cost."""

    report: CycleReport
    store: Store
    seconds: float
    rss_growth_mib: float
    requests: dict[str, int]

    def feed(self, name: str) -> FeedOutcome:
        """The outcome of one feed."""
        return next(f for f in self.report.feeds if f.name == name)

    def articles(self, feed: str) -> list[dict]:
        """The stored article rows that came through `feed`."""
        return self.store._rows(
            "SELECT a.* FROM articles a JOIN article_feeds f ON f.article_id = a.id WHERE f.feed_name = ?", [feed]
        )


def hostile_routes(now: datetime, secret_file: Path) -> dict[str, dict]:
    """Route options (FeedServer.route keywords) of every hostile feed, by feed name."""
    recent = now - timedelta(minutes=30)
    huge = [
        Item(title=f"Weather report {i} for the coast", link=f"https://huge.example/w/{i}", guid=f"w{i}")
        for i in range(HUGE_ITEMS - 10)
    ]
    huge += [story(n, "Huge Wire", recent) for n in range(2, 12)]
    return {
        "billion-laughs": {
            "body": rss(
                [Item("&lol9;", link="https://laughs.example/1", description="&lol9;", published=recent, raw=True)],
                prolog=BILLION_LAUGHS,
            )
        },
        "external-entity": {
            "body": rss(
                [
                    Item(
                        "Kim Jong Un meets Xi Jinping &xxe;",
                        link="https://xxe.example/1",
                        description="Pyongyang and Beijing: &xxe;",
                        published=recent,
                        raw=True,
                    )
                ],
                prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>',
            )
        },
        "gzip-bomb": {"body": gzip_bomb(), "headers": {"Content-Encoding": "gzip"}},
        "endless": {"body": b"<item><title>again</title></item>" * 200, "endless": True},
        "slow-body": {"body": rss([story(1, "Slow", recent)]) * 40, "chunk_size": 64, "chunk_delay_s": 0.25},
        "oversize": {"body": b" " * (6 * 1024 * 1024)},
        "stall-30s": {"body": rss([story(1, "Stall", recent)]), "delay_s": 30.0},
        "stalled-body": {"body": rss([story(1, "Stall", recent)]), "stall_after": 100},
        "html-page": {
            "body": "<!DOCTYPE html><html><head><title>Welcome to News</title></head><body>Hi</body></html>",
            "content_type": "text/html; charset=utf-8",
        },
        "invalid-utf8": {
            "body": rss([Item("Kim Jong Un visits China", link="https://u8.example/1", published=recent)]).replace(
                b"visits", b"vis\xff\xfe\xc3its"
            )
        },
        "binary-junk": {"body": bytes(range(256)) * 64, "content_type": "application/octet-stream"},
        "huge": {"body": rss(huge)},
        "scripts": {
            "body": rss(
                [
                    Item(
                        "<script>alert('t')</script>Kim Jong Un arrives in Beijing <img src=x onerror=alert(1)>",
                        link="https://scripts.example/1",
                        description="<p>North Korea and China.</p><script>document.cookie</script>"
                        "<iframe src='https://evil.example'></iframe><b>bold</b>",
                        published=recent,
                    )
                ]
            )
        },
        "javascript-link": {
            "body": rss(
                [
                    Item("Pyongyang and Beijing sign a javascript pact", link="javascript:alert(1)", published=recent),
                    Item("China and North Korea data link", link="data:text/html,<b>x</b>", published=recent),
                ]
            )
        },
        "long-title": {
            "body": rss(
                [Item("Kim Jong Un visits China " + "word " * 20_000, link="https://long.example/1", published=recent)]
            )
        },
        "invisible": {
            "body": rss(
                [
                    Item(
                        "Kim\u200b Jong\u200d Un \u202emeets\u202c Xi\u2066 Jinping\u2069 in Beij\ufeffing",
                        link="https://invisible.example/1",
                        published=recent,
                    )
                ]
            )
        },
        "dates": {
            "body": rss(
                [
                    Item(
                        "Xi Jinping and Kim Jong Un hold a 2099 summit",
                        link="https://dates.example/future",
                        published=datetime(2099, 1, 1, tzinfo=UTC),
                    ),
                    Item("Kim Jong Un and China without a date", link="https://dates.example/undated"),
                ]
            )
        },
    }


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    """Every hostile feed plus two good ones, polled in one cycle of the real pipeline."""
    folder = tmp_path_factory.mktemp("hostile")
    secret_file = folder / "secret.txt"
    secret_file.write_text(SECRET, encoding="utf-8")
    clock = Clock()
    store = Store.open(folder / "ww.db")
    with FeedServer() as server:
        routes = hostile_routes(clock.now, secret_file)
        for name, options in routes.items():
            server.route(f"/{name}", **options)
        server.route("/good-1", rss([story(0, "Good Wire", clock.now - timedelta(minutes=5))]))
        server.route("/good-2", rss([story(0, "Good Paper", clock.now - timedelta(minutes=4))]))
        server.redirect("/loop-a", "/loop-b")
        server.redirect("/loop-b", "/loop-a")
        server.redirect("/to-file", secret_file.as_uri())
        server.redirect("/to-ftp", "ftp://127.0.0.1/feed.xml")
        names = ["good-1", *routes, "loop-a", "to-file", "to-ftp", "good-2"]
        feeds = [Feed(name, server.url(f"/{name}"), 60) for name in names]

        async def run() -> CycleReport:
            async with Fetcher(SHORT_LIMITS) as fetcher:
                return await pipeline(store, fetcher, clock).run_cycle(feeds)

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = asyncio.run(run())
        seconds = time.perf_counter() - started
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        requests = {name: server.hits(f"/{name}") for name in names}
    print(f"\nhostile cycle: {len(feeds)} feeds in {seconds:.2f} s, peak RSS grew {growth:.0f} MiB")
    yield Cycle(report, store, seconds, growth, requests)
    store.close()


def test_the_cycle_finishes_in_bounded_time_and_memory(cycle: Cycle) -> None:
    """Twenty hostile feeds (a 10,000-item one among them) cost one cycle of seconds and < 256 MiB of peak RSS."""
    assert cycle.seconds < 30, cycle.seconds
    assert cycle.rss_growth_mib < 256
    assert len(cycle.report.feeds) == 22


def test_the_good_feeds_of_the_same_cycle_are_stored_and_alerted(cycle: Cycle) -> None:
    """Both good feeds are read; their reports of one event become one event queued for the sink."""
    for name in ("good-1", "good-2"):
        assert (cycle.feed(name).status, cycle.feed(name).new) == ("ok", 1)
    events = {row["event_id"] for row in cycle.articles("good-1") + cycle.articles("good-2")}
    assert len(events) == 1
    assert cycle.store.delivery("rec", events.pop()) is not None


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("gzip-bomb", "too_large", "decompresses to more than 5 MiB"),
        ("endless", "too_large", "over the 5 MiB limit"),
        ("oversize", "too_large", "the body is 6 MiB, over the 5 MiB limit"),
        ("slow-body", "timeout", "reading the body"),
        ("stall-30s", "timeout", "waiting for a response"),
        ("stalled-body", "timeout", "reading the body"),
        ("html-page", "parse", "got an HTML page, not a feed ('Welcome to News')"),
        ("binary-junk", "parse", "not a feed: the body is not XML"),
        ("loop-a", "redirect", "redirect loop"),
        ("to-file", "redirect", "redirected to a non-HTTP URL: file:"),
        ("to-ftp", "redirect", "redirected to a non-HTTP URL: ftp:"),
    ],
)
def test_hostile_feed_is_marked_failing_with_a_readable_reason(cycle: Cycle, name: str, kind: str, reason: str) -> None:
    """Each unreadable feed is an error with a plain-language reason, recorded as failing in the store."""
    outcome = cycle.feed(name)
    assert (outcome.status, outcome.error_kind) == ("error", kind)
    assert reason in (outcome.error or "")
    health = next(h for h in cycle.store.feed_health() if h.name == name)
    assert health.consecutive_failures == 1 and health.last_error_kind == kind
    assert cycle.store.articles_of_feed(name) == []


def test_redirect_loop_stops_after_one_lap(cycle: Cycle) -> None:
    """The loop is detected on its first repeat: each URL of the loop is requested once."""
    assert cycle.requests["loop-a"] == 1
    assert cycle.requests["to-file"] == 1


def test_entity_expansion_is_not_performed(cycle: Cycle) -> None:
    """Billion laughs: no entity is expanded, the stored text stays a few bytes long."""
    outcome = cycle.feed("billion-laughs")
    assert outcome.status == "ok"  # parsed, with the entity left unexpanded
    [row] = cycle.articles("billion-laughs")
    assert len(row["title"]) + len(row["text"]) < 100
    assert "lollol" not in row["title"] + row["text"]


def test_external_entity_never_reads_a_local_file(cycle: Cycle) -> None:
    """An external entity naming a local file is not resolved: its content is nowhere in the database."""
    dump = "\n".join(cycle.store._db.iterdump())
    assert SECRET not in dump
    for row in cycle.articles("external-entity"):
        assert "&xxe;" not in row["title"]


def test_invalid_utf8_is_read_leniently_without_crashing(cycle: Cycle) -> None:
    """Bytes that are not UTF-8 become replacement text; the item is still stored and matched."""
    outcome = cycle.feed("invalid-utf8")
    assert (outcome.status, outcome.new) == ("ok", 1)
    [row] = cycle.articles("invalid-utf8")
    assert row["title"].startswith("Kim Jong Un vis") and row["matched"] == 1


def test_ten_thousand_items_are_all_stored_and_only_matching_ones_alerted(cycle: Cycle) -> None:
    """A 10,000-item feed is read whole; its 10 matching items become events, the weather does not."""
    outcome = cycle.feed("huge")
    assert (outcome.status, outcome.entries, outcome.new) == ("ok", HUGE_ITEMS, HUGE_ITEMS)
    matched = [row for row in cycle.articles("huge") if row["matched"]]
    assert sorted(row["title"] for row in matched) == sorted(HEADLINES[2:12])
    assert all(row["event_id"] for row in matched)


def test_script_tags_and_markup_are_stripped_from_stored_text(cycle: Cycle) -> None:
    """HTML fields lose scripts, iframes and handlers; a plain-text title keeps "<script>" as inert text."""
    [row] = cycle.articles("scripts")
    assert "<" not in row["text"] and "document.cookie" not in row["text"]
    assert "North Korea and China." in row["text"] and "bold" in row["text"]
    # RSS titles are plain text: the characters stay, and every renderer escapes them (see test_security).
    assert row["title"].startswith("<script>alert('t')</script>Kim Jong Un arrives in Beijing")


def test_non_http_links_are_dropped(cycle: Cycle) -> None:
    """javascript: and data: links are not stored as the article URL (an alert never links them)."""
    rows = cycle.articles("javascript-link")
    assert len(rows) == 2
    assert all(row["url"] == "" for row in rows)


def test_a_100_kb_title_is_cut_to_a_bounded_length(cycle: Cycle) -> None:
    """A 100 KB headline is stored cut to 1,000 characters, ending in an ellipsis."""
    [row] = cycle.articles("long-title")
    assert len(row["title"]) <= 1000 and row["title"].endswith("…")


def test_zero_width_and_bidi_controls_are_removed(cycle: Cycle) -> None:
    """Zero-width and right-to-left override characters are stripped, so the title reads and matches plainly."""
    [row] = cycle.articles("invisible")
    assert row["title"] == "Kim Jong Un meets Xi Jinping in Beijing"
    assert row["matched"] == 1


def test_future_and_missing_dates_are_handled(cycle: Cycle) -> None:
    """A 2099 date is kept but the event is timed by the clock; an undated item on a first poll is backlog."""
    rows = {row["url"].rsplit("/", 1)[-1]: row for row in cycle.articles("dates")}
    future, undated = rows["future"], rows["undated"]
    assert future["published"].startswith("2099") and future["event_id"]
    event = cycle.store.event(future["event_id"])
    assert event is not None and event.first_seen.year < 2099
    assert undated["published"] is None and undated["backlog"] == 1 and undated["event_id"] is None


def test_memory_hostile_feeds_stay_within_a_few_mib_of_python_heap(tmp_path: Path) -> None:
    """Under tracemalloc, a gzip bomb, an endless and an oversize body and 100 KB titles peak below 32 MiB."""
    clock = Clock()
    store = Store.open(tmp_path / "ww.db")
    with FeedServer() as server:
        server.route("/bomb", gzip_bomb(), headers={"Content-Encoding": "gzip"})
        server.route("/endless", b"<item><title>again</title></item>" * 200, endless=True)
        server.route("/oversize", b" " * (6 * 1024 * 1024))
        long_items = [Item("China " + "x" * 100_000, link=f"https://l.example/{i}") for i in range(20)]
        server.route("/long", rss(long_items))
        feeds = [Feed(name, server.url(f"/{name}"), 60) for name in ("bomb", "endless", "oversize", "long")]

        async def run() -> CycleReport:
            async with Fetcher(SHORT_LIMITS) as fetcher:
                return await pipeline(store, fetcher, clock).run_cycle(feeds)

        tracemalloc.start()
        try:
            report = asyncio.run(run())
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    print(f"\nmemory-hostile cycle: tracemalloc peak {peak:.1f} MiB")
    assert [f.status for f in report.feeds] == ["error", "error", "error", "ok"]
    assert peak < 32


def test_duplicate_guids_in_one_feed_keep_distinct_articles(tmp_path: Path) -> None:
    """Two different stories that share one GUID (a broken feed) are both stored and both alerted."""
    clock = Clock()
    store = Store.open(tmp_path / "ww.db")
    recent = clock.now - timedelta(minutes=10)
    items = [story(0, "Dup", recent), story(3, "Dup", recent)]
    items = [Item(i.title, link=i.link, guid="same-guid-for-all", description=i.description, published=recent)
             for i in items]  # fmt: skip
    with FeedServer() as server:
        server.route("/dup", rss(items))

        async def run() -> CycleReport:
            async with Fetcher(SHORT_LIMITS) as fetcher:
                return await pipeline(store, fetcher, clock).run_cycle([Feed("dup", server.url("/dup"), 60)])

        report = asyncio.run(run())
    assert (report.feeds[0].entries, report.feeds[0].new, report.events) == (2, 2, 2)
    assert len(store.deliveries("rec")) == 2


@pytest.mark.parametrize("with_link", [True, False], ids=["same-link", "no-link"])
def test_the_same_article_with_a_changing_guid_is_not_a_new_alert(tmp_path: Path, with_link: bool) -> None:
    """A feed that mints a new GUID for the same article on every poll never gets a second alert."""
    clock = Clock()
    store = Store.open(tmp_path / "ww.db")
    recent = clock.now - timedelta(minutes=10)
    base = story(0, "Flaky", recent)

    def body(poll: int) -> bytes:
        link = base.link if with_link else None
        return rss([Item(base.title, link=link, guid=f"urn:flaky:{poll}:{time.time_ns()}",
                         description=base.description, published=recent)])  # fmt: skip

    with FeedServer() as server:
        server.route("/flaky", body(0))
        feed = Feed("flaky", server.url("/flaky"), 60)

        async def run() -> list[CycleReport]:
            reports = []
            async with Fetcher(SHORT_LIMITS) as fetcher:
                pipe = pipeline(store, fetcher, clock)
                for poll in range(4):
                    server.update("/flaky", body=body(poll))
                    reports.append(await pipe.run_cycle([feed]))
                    clock.advance(120)
            return reports

        reports = asyncio.run(run())
    assert reports[0].events == 1
    assert [r.events for r in reports[1:]] == [0, 0, 0]
    assert len(store.deliveries("rec")) == 1 and store.deliveries("rec")[0].revision == 1
