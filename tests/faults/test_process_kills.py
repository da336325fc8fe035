"""SIGKILL the real `wirewatch run` process at random moments, again and again, over a stream of events.

FakeBotAPI, FakeDiscord and the feed server live in the test process, so they outlast every kill: they are
the ground truth of what readers saw. Between restarts the feeds change (new events, more outlets for
earlier ones). Kills land at a random moment after the process is up (polling, grouping, delivering or
idle); every third kill waits for a delivery request to reach a platform and strikes within 0-300 ms
of it. After the last kill one clean run drains the outbox and stops on SIGTERM. Then each event must
have exactly one message per sink, showing every outlet, and `PRAGMA integrity_check` must pass.

The one exception is the window docs/reliability.md describes: a kill after the platform accepted a post
but before its message id was committed. After every kill the test compares what the platforms accepted
with the ids the database holds; the newest post the killed run made on a platform, if unrecorded, was in
that window, and a second copy of it is the documented at-least-once behaviour (counted and printed). Any
other duplicate fails.

Default: 22 kills, ~60-80 s. A longer soak by hand::

    WIREWATCH_SOAK=1 .venv/bin/python -m pytest tests/faults/test_process_kills.py -s

(`WIREWATCH_SOAK=N` runs N × 100 kills, `WIREWATCH_KILLS=N` exactly N; `WIREWATCH_KILL_SEED` fixes the
random moments, and each run prints its seed.)
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.environ import clean_environ, write_config
from tests.fake_botapi import FakeBotAPI
from tests.fake_discord import FakeDiscord
from tests.fakes import FeedServer
from tests.faults.helpers import HEADLINES, Item, rss, story

CHANNEL = "@wirewatch_kills"
OUTLETS = ("Wire One", "Paper Two", "Radio Three")
SOAK = int(os.environ.get("WIREWATCH_SOAK", "0") or 0)
KILLS = 100 * SOAK if SOAK else int(os.environ.get("WIREWATCH_KILLS", "0") or 0) or 22
SEED = int(os.environ.get("WIREWATCH_KILL_SEED", "0") or 0) or random.randrange(1 << 30)
READY_TIMEOUT_S = 20.0
DRAIN_TIMEOUT_S = 40.0


@dataclass
class Newsroom:
    """The feeds: which outlet has reported which event so far (revealed step by step)."""

    server: FeedServer
    now: datetime
    reported: dict[str, list[int]] = field(default_factory=lambda: {o: [] for o in OUTLETS})

    def reveal(self, step: int, steps: int) -> None:
        """Publish what the schedule says is out by `step`: event n appears, then reaches more outlets."""
        for n in range(len(HEADLINES)):
            first = n * steps // (len(HEADLINES) + 2)
            for k in range(1 + n % 3):  # events reach one, two or three outlets, two steps apart
                outlet = OUTLETS[(n + k) % 3]
                if step >= first + 2 * k and n not in self.reported[outlet]:
                    self.reported[outlet].append(n)
        for outlet, events in self.reported.items():
            items: list[Item] = [story(n, outlet, self.now - timedelta(minutes=60 - n)) for n in events]
            self.server.update(path(outlet), body=rss(items, title=outlet))

    def expected(self) -> dict[str, set[str]]:
        """Headline → the outlets that reported it."""
        out: dict[str, set[str]] = {}
        for outlet, events in self.reported.items():
            for n in events:
                out.setdefault(HEADLINES[n], set()).add(outlet)
        return out


def path(outlet: str) -> str:
    """The feed path of an outlet."""
    return "/" + outlet.lower().replace(" ", "-") + ".xml"


@pytest.fixture
def platforms() -> Iterator[tuple[FakeBotAPI, FakeDiscord]]:
    """FakeBotAPI and FakeDiscord in background threads, alive across every restart of the service."""
    with FakeBotAPI() as telegram, FakeDiscord().in_thread() as discord:
        yield telegram, discord


def environment(tmp_path: Path, telegram: FakeBotAPI, hook: str, server: FeedServer) -> dict[str, str]:
    """The service's environment: fakes on loopback, 1-second feed intervals, edits at most every 0.3 s."""
    config = write_config(tmp_path, {o: server.url(path(o)) for o in OUTLETS}, interval_s=1)
    env = clean_environ()
    return env | {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_CHANNEL": CHANNEL,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "DISCORD_WEBHOOK_URL": hook,
        "WIREWATCH_CONFIG_DIR": str(config),
        "WIREWATCH_DB": str(tmp_path / "ww.db"),
        "WIREWATCH_EDIT_INTERVAL_S": "0.3",
        "LOG_LEVEL": "INFO",
    }


def delivery_requests(telegram: FakeBotAPI, discord: FakeDiscord) -> int:
    """Posts and edits the platforms have received so far."""
    sends = len(telegram.calls_of("sendMessage")) + len(telegram.calls_of("editMessageText"))
    return sends + sum(1 for r in list(discord.requests) if r.method in ("POST", "PATCH"))


def wait_until(predicate, timeout: float, proc: subprocess.Popen) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` every 5 ms until it holds (True), the process exits or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    tmp_path: Path, platforms: tuple[FakeBotAPI, FakeDiscord]
) -> None:
    """22 SIGKILLs over polling and delivery: every event reaches each sink exactly once, the database is sound."""
    telegram, discord = platforms
    rng = random.Random(SEED)
    logs = tmp_path / "logs"
    logs.mkdir()
    started = time.monotonic()
    kill_moments: Counter[str] = Counter()
    in_window: set[tuple[str, str]] = set()  # posts a kill caught accepted but not yet recorded
    with FeedServer() as server:
        newsroom = Newsroom(server, datetime.now(UTC).replace(microsecond=0))
        for outlet in OUTLETS:
            server.route(path(outlet), rss([], title=outlet), validators=True)
        env = environment(tmp_path, telegram, discord.add_webhook(), server)
        for run in range(KILLS + 1):
            newsroom.reveal(run, KILLS)
            posted_before = _posts(telegram, discord)
            with open(logs / f"run-{run:03d}.log", "wb") as log:
                proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=log, stderr=log)
                try:
                    getme = len(telegram.calls_of("getMe"))
                    assert wait_until(lambda g=getme: len(telegram.calls_of("getMe")) > g, READY_TIMEOUT_S, proc)
                    if run == KILLS:
                        break  # the clean run: drained below, then stopped with SIGTERM
                    if run % 3 == 2:
                        before = delivery_requests(telegram, discord)
                        hit = wait_until(lambda b=before: delivery_requests(telegram, discord) > b, 3.0, proc)
                        time.sleep(rng.uniform(0.0, 0.3))
                        kill_moments["after a delivery request" if hit else "idle (nothing to deliver)"] += 1
                    else:
                        time.sleep(rng.uniform(0.05, 2.0))
                        kill_moments["random moment"] += 1
                finally:
                    if run < KILLS:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(timeout=10)
                        in_window |= _caught_in_flight(tmp_path / "ww.db", posted_before, _posts(telegram, discord))
                assert proc.returncode == -signal.SIGKILL, (logs / f"run-{run:03d}.log").read_text()
        # The clean run: wait until every expected report shows in both sinks and the outbox is empty.
        expected = newsroom.expected()

        clean_log = logs / f"run-{KILLS:03d}.log"

        def settled() -> bool:
            # "cycle:" in the log: this run has polled at least once (and installed its SIGTERM handler).
            polled = "bot.pipeline: cycle:" in clean_log.read_text(errors="replace")
            return polled and _outbox_depth(tmp_path / "ww.db") == 0 and _complete(telegram, discord, expected)

        try:
            drained = wait_until(settled, DRAIN_TIMEOUT_S, proc)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        assert drained, _missing(telegram, discord, expected)
    assert proc.returncode == 0
    seconds = time.monotonic() - started

    tg_copies = [
        (h, ("telegram", str(s.message_id))) for s in telegram.sent_to(CHANNEL) for h in expected if h in s.plain
    ]
    dc_copies = [
        (h, ("discord", mid))
        for mid, t in zip(discord.messages, discord_texts(discord), strict=True)
        for h in expected
        if h in t
    ]
    tg_posts = Counter(h for h, _ in tg_copies)
    dc_posts = Counter(h for h, _ in dc_copies)
    # Copies the documented window explains: accepted by the platform but not recorded when a kill struck.
    tg_explained = Counter(h for h, post in tg_copies if post in in_window)
    dc_explained = Counter(h for h, post in dc_copies if post in in_window)
    explained = tg_explained + dc_explained
    lost = {h for h in expected if tg_posts[h] == 0} | {h for h in expected if dc_posts[h] == 0}
    duplicated = {h for h in expected if tg_posts[h] - tg_explained[h] > 1 or dc_posts[h] - dc_explained[h] > 1}
    reports = sum(len(o) for o in expected.values())
    print(
        f"\nkills: {KILLS} (seed {SEED}; {dict(kill_moments)}), events {len(expected)}, reports {reports}, "
        f"telegram posts {sum(tg_posts.values())} + edits {len(telegram.edits)}, discord messages "
        f"{len(discord.messages)}, lost {len(lost)}, duplicated {len(duplicated)}, "
        f"accepted-but-unrecorded posts repeated {sum(explained.values())} (the documented window), {seconds:.0f} s"
    )
    assert not lost and not duplicated, (lost, duplicated, tg_posts, dc_posts, in_window)
    printed = "".join(p.read_text(errors="replace") for p in sorted(logs.iterdir()))
    assert telegram.token not in printed and telegram.token.split(":", 1)[1] not in printed  # crash output too
    conn = sqlite3.connect(tmp_path / "ww.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM deliveries WHERE state != 'sent'").fetchone()[0] == 0
    finally:
        conn.close()


def discord_texts(discord: FakeDiscord) -> list[str]:
    """Each Discord message's embed title and description, markdown escapes removed."""
    embeds = [m["embeds"][0] for m in list(discord.messages.values())]
    return [(e.get("title", "") + "\n" + e.get("description", "")).replace("\\", "") for e in embeds]


def _posts(telegram: FakeBotAPI, discord: FakeDiscord) -> dict[str, list[str]]:
    """The message ids each platform has accepted so far, oldest first."""
    return {
        "telegram": [str(s.message_id) for s in telegram.sent_to(CHANNEL)],
        "discord": list(discord.messages),  # insertion order: the order they were created
    }


def _caught_in_flight(db: Path, before: dict[str, list[str]], after: dict[str, list[str]]) -> set[tuple[str, str]]:
    """The post, at most one per platform, that a kill caught accepted but not yet recorded.

    Only the newest post the killed run made on a platform can be in flight (the worker sends one at a time
    per sink); an older unrecorded post, or one from an earlier run, is a real fault and is not excused.
    """
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute("SELECT sink, message_id FROM deliveries WHERE message_id IS NOT NULL").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        rows = []  # killed before the schema existed: nothing recorded yet
    finally:
        conn.close()
    recorded = {("telegram" if sink.startswith("telegram") else "discord", str(mid)) for sink, mid in rows}
    caught: set[tuple[str, str]] = set()
    for platform, ids in after.items():
        if len(ids) > len(before[platform]) and (platform, ids[-1]) not in recorded:
            caught.add((platform, ids[-1]))
    return caught


def _outbox_depth(db: Path) -> int:
    """Pending outbox rows, read through a separate connection (the service holds its own)."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        conn.close()


def _missing(telegram: FakeBotAPI, discord: FakeDiscord, expected: dict[str, set[str]]) -> list[str]:
    """What `_complete` still waits for, for the failure message."""
    tg = [telegram.current_text(CHANNEL, s.message_id) or "" for s in telegram.sent_to(CHANNEL)]
    dc = discord_texts(discord)
    return [
        f"{name}: {headline} by {sorted(outlets)}"
        for headline, outlets in expected.items()
        for name, texts in (("telegram", tg), ("discord", dc))
        if not any(headline in t and all(o in t for o in outlets) for t in texts)
    ]


def _complete(telegram: FakeBotAPI, discord: FakeDiscord, expected: dict[str, set[str]]) -> bool:
    """Every expected event shows, on both platforms, a message naming every outlet that reported it."""
    tg = [telegram.current_text(CHANNEL, s.message_id) or "" for s in telegram.sent_to(CHANNEL)]
    dc = discord_texts(discord)
    for headline, outlets in expected.items():
        for texts in (tg, dc):
            if not any(headline in t and all(o in t for o in outlets) for t in texts):
                return False
    return True


def test_only_the_newest_unrecorded_post_of_the_killed_run_is_excused(tmp_path: Path) -> None:
    """The window excuses one in-flight post per platform, never an older or an earlier run's unrecorded post."""
    db = tmp_path / "ww.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE deliveries (sink TEXT, message_id TEXT)")
    conn.executemany("INSERT INTO deliveries VALUES (?, ?)", [("telegram:channel", "1"), ("discord:0", "d1")])
    conn.commit()
    conn.close()
    before = {"telegram": ["1"], "discord": ["d1"]}
    after = {"telegram": ["1", "2", "3"], "discord": ["d1"]}  # 2 and 3 unrecorded: only 3 can be in flight
    assert _caught_in_flight(db, before, after) == {("telegram", "3")}
    assert _caught_in_flight(db, after, after) == set()  # nothing new in this run: nothing excused
    assert _caught_in_flight(tmp_path / "empty.db", {"telegram": []}, {"telegram": ["7"]}) == {("telegram", "7")}
