"""Benchmark: one poll cycle over 1,000 loopback feeds, most unchanged (304), through the real Pipeline.

The feeds are served by an aiohttp server in a separate process, so its CPU is not counted as the client's.
The client is the real `Pipeline` with a real `Store` (a temporary SQLite file), the real `Fetcher`, the
shipped topic rules and a real `EventTracker`. After one cold cycle (every feed new), cycles with 0 %, 10 %
and 20 % of the feeds changed run interleaved, --repeat times each; the table shows medians of wall time
and client process CPU time (threads included). Targets of issue #7: the 10 % cycle under 10 s, CPU per
unchanged feed under 2 ms, and CPU growing with the changed feeds rather than with all feeds.

    .venv/bin/python bench/bench_poll_cycle.py [--feeds 1000] [--repeat 3] [--items 20]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.fetch import Fetcher
from bot.adapters.store import Store
from bot.core.events import EventTracker
from bot.models import Feed
from bot.pipeline import CycleReport, Pipeline
from bot.settings import load_topics

REPO = Path(__file__).resolve().parents[1]
TARGET_WALL_S = 10.0
TARGET_CPU_PER_UNCHANGED_MS = 2.0
NEW_PER_CHANGE = 2  # items a changed feed gains (and drops) between two polls
_WORDS = (
    "minister", "talks", "trade", "border", "river", "bridge", "port", "rail", "freight", "summit",
    "delegation", "envoy", "visit", "agreement", "sanctions", "council", "vote", "market", "prices", "harvest",
    "weather", "storm", "school", "hospital", "court", "ruling", "election", "parliament", "budget", "energy",
    "power", "grid", "factory", "workers", "strike", "union", "festival", "museum", "airline", "airport",
    "shipping", "container", "customs", "exports", "imports", "tariff", "currency", "bank", "loan", "bond",
    "investors", "shares", "growth",
)  # fmt: skip


# -- the feed server (runs in its own process) -----------------------------------------------------------


def _item_xml(feed: int, k: int, start: datetime) -> str:
    """One RSS item; about one in twenty names both North Korea and China, so it reaches the tracker."""
    rng = random.Random(feed * 100_003 + k)
    words = " ".join(rng.choice(_WORDS) for _ in range(8))
    if (feed * 31 + k) % 20 == 0:
        title = f"North Korea and China {words} {feed}-{k}"
    else:
        title = f"{words.capitalize()} {feed}-{k}"
    text = " ".join(rng.choice(_WORDS) for _ in range(60))
    published = format_datetime(start + timedelta(seconds=30 * k), usegmt=True)
    link = f"https://outlet{feed}.example/news/{k}"
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{published}</pubDate><description>{escape(text)}.</description></item>"
    )


def _feed_xml(feed: int, version: int, items: int, start: datetime) -> bytes:
    """Feed `feed` at `version`: the newest `items` items, NEW_PER_CHANGE more per version."""
    top = version * NEW_PER_CHANGE + items
    body = "".join(_item_xml(feed, k, start) for k in range(top - 1, top - items - 1, -1))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example/</link><description>news</description>"
        f"{body}</channel></rss>"
    ).encode()


def serve(port_queue: multiprocessing.Queue[int], items: int) -> None:
    """Serve /feed/N.xml with ETags (304 when unchanged) and POST /_change to move feeds to a new version."""
    from aiohttp import web

    start = datetime.now(UTC) - timedelta(hours=2)
    versions: dict[int, int] = {}
    cache: dict[tuple[int, int], bytes] = {}

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        version = versions.get(n, 0)
        etag = f'"{n}-{version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = cache.get((n, version))
        if body is None:
            body = cache[(n, version)] = _feed_xml(n, version, items, start)
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def change(request: web.Request) -> web.Response:
        for n in await request.json():
            versions[n] = versions.get(n, 0) + 1
        return web.json_response({"cpu_s": time.process_time()})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", feed)
        app.router.add_post("/_change", change)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        port_queue.put(int(runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


def _change(base: str, feeds: list[int]) -> float:
    """Ask the server to change `feeds`; returns the server process's CPU seconds so far."""
    request = urllib.request.Request(
        f"{base}/_change", data=json.dumps(feeds).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return float(json.load(response)["cpu_s"])


# -- the client: the real pipeline -------------------------------------------------------------------------


def _clock() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


async def _cycles(
    base: str, n_feeds: int, fractions: list[float], repeat: int, db: Path
) -> tuple[dict[float, list[tuple[float, float, float, CycleReport]]], tuple[float, float, CycleReport]]:
    """Run the cold cycle, then `repeat` interleaved rounds over `fractions`; return the measurements."""
    feeds = [Feed(name=f"Outlet {n}", url=f"{base}/feed/{n}.xml", interval_s=900) for n in range(n_feeds)]
    store = Store.open(db)
    rules = load_topics(REPO / "config" / "topics.toml")
    rng = random.Random(7)
    results: dict[float, list[tuple[float, float, float, CycleReport]]] = {f: [] for f in fractions}
    async with Fetcher() as fetcher:
        pipeline = Pipeline(
            store=store,
            fetcher=fetcher,
            rules=rules,
            tracker=EventTracker(),
            sinks=lambda: ["telegram:channel"],
            clock=_clock,
        )
        cold = await _timed(lambda: pipeline.run_cycle(feeds))
        for _ in range(repeat):
            for fraction in fractions:
                changed = rng.sample(range(n_feeds), round(fraction * n_feeds))
                server_before = _change(base, changed)
                wall, cpu, report = await _timed(lambda: pipeline.run_cycle(feeds))
                server_cpu = _change(base, []) - server_before
                results[fraction].append((wall, cpu, server_cpu, report))
                expected = len(changed)
                got = sum(1 for f in report.feeds if f.status == "ok")
                if got != expected or report.errors:
                    raise SystemExit(
                        f"cycle went wrong: {got} changed feeds seen, {expected} expected, {report.errors} errors"
                    )
    store.close()
    return results, cold


async def _timed(run: Callable[[], object]) -> tuple[float, float, CycleReport]:
    """Wall and process CPU seconds of one awaited cycle."""
    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = await run()  # type: ignore[misc]
    return time.perf_counter() - wall0, time.process_time() - cpu0, report


def main() -> int:
    """Run the benchmark and print the table; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds served on loopback (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="cycles per scenario (median)")
    parser.add_argument("--items", type=int, default=20, help="items per feed (default 20)")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    port_queue: multiprocessing.Queue[int] = context.Queue()
    server = context.Process(target=serve, args=(port_queue, args.items), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{port_queue.get(timeout=30)}"
        fractions = [0.0, 0.1, 0.2]
        with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
            cold_started = time.perf_counter()
            results, (cold_wall, cold_cpu, cold) = asyncio.run(
                _cycles(base, args.feeds, fractions, args.repeat, Path(tmp) / "bench.db")
            )
            total = time.perf_counter() - cold_started
    finally:
        server.terminate()
        server.join(timeout=5)

    n = args.feeds
    print(f"poll cycle over {n:,} loopback feeds ({args.items} items each), real Pipeline + SQLite store")
    print(f"median of {args.repeat} cycles per row; client CPU = this process (threads included), server apart\n")
    header = f"{'scenario':<26}{'changed':>8}{'new':>6}{'wall s':>8}{'client CPU s':>14}{'CPU/feed ms':>13}"
    print(header + f"{'server CPU s':>14}")
    print(
        f"{'cold start (all new)':<26}{n:>8}{cold.new:>6}{cold_wall:>8.2f}{cold_cpu:>14.2f}"
        f"{cold_cpu / n * 1000:>13.2f}{'':>14}"
    )
    medians: dict[float, tuple[float, float]] = {}
    for fraction in fractions:
        rows = results[fraction]
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        server_cpu = statistics.median(r[2] for r in rows)
        new = round(statistics.median(r[3].new for r in rows))
        changed = round(fraction * n)
        medians[fraction] = (wall, cpu)
        label = "all unchanged (304)" if fraction == 0 else f"{fraction:.0%} changed, rest 304"
        print(f"{label:<26}{changed:>8}{new:>6}{wall:>8.2f}{cpu:>14.2f}{cpu / n * 1000:>13.2f}{server_cpu:>14.2f}")
    per_unchanged = medians[0.0][1] / n * 1000
    per_changed_10 = (medians[0.1][1] - medians[0.0][1]) / (0.1 * n) * 1000
    per_changed_20 = (medians[0.2][1] - medians[0.0][1]) / (0.2 * n) * 1000
    wall_10 = medians[0.1][0]
    growth = (medians[0.2][1] - medians[0.1][1]) / max(medians[0.1][1] - medians[0.0][1], 1e-9)
    print()
    print(f"CPU per unchanged feed:             {per_unchanged:6.2f} ms   target < {TARGET_CPU_PER_UNCHANGED_MS} ms")
    print(f"extra CPU per changed feed (10 %):  {per_changed_10:6.2f} ms   (20 %: {per_changed_20:.2f} ms)")
    print(f"CPU added by 10 % → 20 % changed vs 0 % → 10 %: {growth:.2f}× (≈1 means linear in changed feeds)")
    print(f"wall time of the 10 % cycle:        {wall_10:6.2f} s    target < {TARGET_WALL_S:g} s")
    met_wall = wall_10 < TARGET_WALL_S
    met_cpu = per_unchanged < TARGET_CPU_PER_UNCHANGED_MS
    verdict = {True: "met", False: "NOT met"}
    print(f"\ntargets: wall {verdict[met_wall]}, CPU per unchanged feed {verdict[met_cpu]}")
    print(f"(whole run {total:.0f} s)")
    print(
        f"reproduce: .venv/bin/python bench/bench_poll_cycle.py --feeds {n} --repeat {args.repeat} --items {args.items}"
    )
    return 0 if met_wall and met_cpu else 1


if __name__ == "__main__":
    sys.exit(main())
