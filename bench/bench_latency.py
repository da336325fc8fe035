"""Benchmark: alert latency, from an item appearing on a loopback feed to the loopback Bot API receiving the post.

The real `wirewatch run` runs as a child process with TELEGRAM_BASE_URL pointed at FakeBotAPI (the real
python-telegram-bot client, rate limiter included) and one feed polled every --interval seconds from a
loopback FeedServer (ETag, 304 when unchanged). Items appear one by one at random moments, so they land
at random points of the poll schedule; each is a distinct on-topic event, so each must become one
sendMessage. Latency = the Bot API receiving that sendMessage − the item appearing on the feed. Target
of issue #7: p95 ≤ interval + 2 s.

    .venv/bin/python bench/bench_latency.py [--items 20] [--interval 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.environ import clean_environ, write_config
from tests.fake_botapi import FakeBotAPI
from tests.fakes import FeedServer

REPO = Path(__file__).resolve().parents[1]

CHANNEL = "@wirewatch_bench"
FEED_PATH = "/latency.xml"
SLACK_S = 2.0  # the target: p95 ≤ interval + SLACK_S
_SYLLABLES = ["ka", "lo", "ri", "mu", "ten", "sa", "vor", "el", "ni", "dra", "po", "qu", "zen", "ma", "tor", "bel"]


def _made_up_words(rng: random.Random, n: int) -> list[str]:
    """n invented words, so every item is its own event and never clusters with another."""
    return ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))) for _ in range(n)]


def _item(i: int, rng: random.Random, published: datetime) -> str:
    """One on-topic RSS item with a unique link (how its alert is recognised)."""
    words = _made_up_words(rng, 30)
    title = f"North Korea and China {' '.join(words[:5])}"
    text = " ".join(words[5:]) + f". Pyongyang and Beijing discussed {words[0]} {words[1]} in {words[2]}."
    link = f"https://bench.example/news/item-{i:03d}-story"
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<description>{escape(text)}</description></item>"
    )


def _feed(items: list[str]) -> str:
    """The feed with its newest items first, plus one off-topic seed item."""
    seed = (
        "<item><title>Weather: a mild week ahead</title><link>https://bench.example/news/weather</link>"
        "<description>Mild.</description></item>"
    )
    body = "".join(reversed(items)) + seed
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
    return f"{head}{body}</channel></rss>"


def _percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def main() -> int:
    """Run the benchmark and print the table; exit status 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20, help="items published, one at a time (default 20)")
    parser.add_argument("--interval", type=int, default=5, help="the feed's poll interval in seconds (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the publication moments")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # On average one item per 3 s: under the channel's 20 messages a minute, so the Bot API rate limiter
    # (a real limit, measured elsewhere) does not queue the posts.
    gaps = [rng.uniform(1.0, 5.0) for _ in range(args.items)]

    published: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="wirewatch-latency-") as tmp, FeedServer() as feeds, FakeBotAPI() as api:
        config = write_config(Path(tmp), {"Bench Wire": feeds.url(FEED_PATH)}, interval_s=args.interval)
        items: list[str] = []
        feeds.route(FEED_PATH, body=_feed(items), validators=True)
        env = clean_environ()
        env |= {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_CHANNEL": CHANNEL,
            "TELEGRAM_BASE_URL": api.base_url,
            "WIREWATCH_CONFIG_DIR": str(config),
            "WIREWATCH_DB": str(Path(tmp) / "latency.db"),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        service = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 60
            while feeds.hits(FEED_PATH) == 0:
                if service.poll() is not None or time.monotonic() > deadline:
                    err = service.stderr.read().decode() if service.stderr else ""
                    raise SystemExit(f"wirewatch run did not poll the feed:\n{err}")
                time.sleep(0.01)
            time.sleep(0.5)  # let the first cycle finish storing the seed item
            for i, gap in enumerate(gaps):
                time.sleep(gap)
                items.append(_item(i, rng, datetime.now(UTC)))
                feeds.update(FEED_PATH, body=_feed(items))
                published[i] = time.monotonic()
            wait_until = time.monotonic() + args.interval + 15
            while time.monotonic() < wait_until and len(api.calls_of("sendMessage")) < args.items:
                time.sleep(0.05)
        finally:
            service.terminate()
            try:
                service.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.kill()
        received: dict[int, float] = {}
        for call in api.calls_of("sendMessage"):
            text = str(call.params.get("text", ""))
            for i in published:
                if f"item-{i:03d}-story" in text and i not in received:
                    received[i] = call.at
        edits = len(api.calls_of("editMessageText"))
        polls = feeds.hits(FEED_PATH)

    latencies = [received[i] - published[i] for i in sorted(received)]
    missing = args.items - len(latencies)
    print(f"alert latency: item on a loopback feed → sendMessage at the loopback Bot API ({args.items} items)")
    print(f"`wirewatch run` as a child process; the feed polled every {args.interval} s (±10 % jitter)\n")
    print(f"{'':<14}{'seconds':>8}")
    if latencies:
        for label, value in (
            ("min", min(latencies)),
            ("median", statistics.median(latencies)),
            ("p95", _percentile(latencies, 0.95)),
            ("max", max(latencies)),
        ):
            print(f"{label:<14}{value:>8.2f}")
    print(f"\nposts received {len(latencies)}/{args.items}, edits {edits}, feed requests {polls}")
    target = args.interval + SLACK_S
    p95 = _percentile(latencies, 0.95) if latencies else float("inf")
    met = p95 <= target and missing == 0
    never = f" ({missing} items never posted)" if missing else ""
    print(f"target p95 ≤ {target:g} s: {'met' if met else 'NOT met'}{never}")
    print(
        "reproduce: .venv/bin/python bench/bench_latency.py "
        f"--items {args.items} --interval {args.interval} --seed {args.seed}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
