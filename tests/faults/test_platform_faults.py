"""Platform faults through the real delivery path: DeliveryWorker + TelegramSink/DiscordSink + the fakes.

Between each sink and its fake sits a `FaultProxy` (tests/faults/proxy.py) for the faults that happen on
the wire (timeouts, resets); HTTP-level faults (429, 500, 502, 403, deleted messages) come from the fakes
themselves. The worker's clock is moved by hand, so backoffs of minutes cost nothing; only the client
timeouts (1 s) are real waits.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from telegram.ext import Application

from bot.adapters.discord import DiscordSink
from bot.adapters.store import Store
from bot.adapters.telegram import TelegramSink, build_application
from bot.delivery import DeliveryPolicy, DeliveryWorker
from bot.models import Event
from tests.builders import T0, Clock, event
from tests.fake_botapi import FakeBotAPI
from tests.fake_discord import FakeDiscord
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

CHANNEL = "@wirewatch_faults"
TG, DC = "telegram:channel", "discord:0"
HEADLINES = [f"Envoys meet at border bridge number {n}" for n in range(1, 7)]
CLIENT_TIMEOUT_S = 1.0
MAX_PASSES = 120
PASS_PAUSE_S = 0.05  # real time between passes: the Discord sink's own rate-limit clock is time.monotonic


@dataclass
class Rig:
    """The store, the worker and both platforms, each behind a fault proxy."""

    store: Store
    clock: Clock
    worker: DeliveryWorker
    telegram: FakeBotAPI
    discord: FakeDiscord
    tg_proxy: FaultProxy
    dc_proxy: FaultProxy

    def queue(self, ev: Event) -> None:
        """Save an event and ask both sinks for its current revision, as the pipeline does."""
        revision = self.store.save_event(ev, self.clock.now)
        for sink in (TG, DC):
            self.store.enqueue_delivery(sink, ev.id, revision=revision, reply_to=ev.follows, now=self.clock.now)

    async def drain(self, step_s: float = 30.0) -> int:
        """Run passes (the clock moving `step_s` each) until the outbox is empty; return the passes used."""
        for n in range(1, MAX_PASSES + 1):
            await self.worker.drain_once()
            if self.store.outbox_depth() == 0 and not self.tg_proxy.pending and not self.dc_proxy.pending:
                return n
            self.clock.advance(step_s)
            await asyncio.sleep(PASS_PAUSE_S)
        raise AssertionError(f"outbox not empty after {MAX_PASSES} passes: {self.store.deliveries()}")

    def telegram_posts(self) -> Counter[str]:
        """How many channel messages carry each headline."""
        return Counter(h for s in self.telegram.sent_to(CHANNEL) for h in HEADLINES if h in s.plain)

    def discord_posts(self) -> Counter[str]:
        """How many Discord messages carry each headline (the embed title)."""
        return Counter(
            h for m in self.discord.messages.values() for h in HEADLINES if h in m["embeds"][0].get("title", "")
        )


@pytest.fixture
def telegram() -> Iterator[FakeBotAPI]:
    """The fake Bot API, in its own thread."""
    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def rig(telegram: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Rig]:
    """Both sinks wired to the worker through fault proxies, on a fresh database."""
    async with FakeDiscord() as discord, FaultProxy(telegram.port) as tg_proxy:
        dc_port = int(discord.base_url.rsplit(":", 1)[1])
        async with FaultProxy(dc_port) as dc_proxy, aiohttp.ClientSession() as session:
            hook = discord.add_webhook()
            hook_via_proxy = hook.replace(discord.base_url, dc_proxy.url())
            app: Application = build_application(
                telegram.token,
                tg_proxy.url("/bot"),
                max_retries=0,
                connect_timeout=CLIENT_TIMEOUT_S,
                read_timeout=CLIENT_TIMEOUT_S,
            )
            await app.initialize()
            sinks = {
                TG: TelegramSink(app.bot, CHANNEL, name=TG),
                DC: DiscordSink(session, hook_via_proxy, index=0, timeout_s=CLIENT_TIMEOUT_S, max_inline_wait_s=0.3),
            }
            store = Store.open(tmp_path / "ww.db")
            clock = Clock(T0)
            worker = DeliveryWorker(
                store=store, resolve=sinks.get, clock=clock, policy=DeliveryPolicy(edit_interval_s=0.0)
            )
            try:
                yield Rig(store, clock, worker, telegram, discord, tg_proxy, dc_proxy)
            finally:
                await app.shutdown()
                store.close()


async def test_every_fault_then_recovery_delivers_each_alert_exactly_once(rig: Rig) -> None:
    """429s, 5xx, timeouts, resets and a 403 on both platforms: each alert is posted once, then edited."""
    tg, dc = rig.telegram, rig.discord
    tg.fault("429", method="sendMessage", retry_after=5)
    tg.fault("500", method="sendMessage")
    tg.fault("502", method="sendMessage")
    rig.tg_proxy.fault("blackhole", "sendMessage")  # a timeout the platform never saw
    rig.tg_proxy.fault("reset", "sendMessage", times=2)  # connection reset mid-send
    dc.rate_limit_next(0.2, method="POST")  # a short 429: waited for inside the sink
    dc.rate_limit_next(1.0, method="POST")  # a longer 429 (> max_inline_wait_s): handed back to the outbox
    dc.fail_next(500, method="POST")
    dc.fail_next(503, method="POST")
    rig.dc_proxy.fault("blackhole", "POST /api/webhooks")
    rig.dc_proxy.fault("reset", "POST /api/webhooks", times=2)
    http_faults = 3 + 4 + 2 + 2  # the fakes' 429/500/502/503 answers, then the four 403s below
    first = [event(f"ev-{n}", "Wire", headline=HEADLINES[n]) for n in range(4)]
    for ev in first:
        rig.queue(ev)
    passes = await rig.drain()

    # The bot is removed from the channel (403) and the webhook refuses (403) while the events grow.
    tg.fault("403", method="editMessageText", times=2)
    dc.fail_next(403, {"message": "Missing Access", "code": 50001}, method="PATCH", times=2)
    rig.tg_proxy.fault("reset", "editMessageText")
    rig.dc_proxy.fault("reset", "PATCH /api/webhooks")
    for ev in first:
        rig.queue(event(ev.id, "Wire", "Paper", headline=ev.headline))
    passes += await rig.drain(step_s=700.0)  # past the 600 s a refusing sink waits before it is asked again

    wanted = Counter({h: 1 for h in HEADLINES[:4]})
    assert rig.telegram_posts() == wanted
    assert rig.discord_posts() == wanted
    for row in rig.store.deliveries():
        assert (row.state, row.delivered_revision) == ("sent", 2), row
    assert all("Paper" in (tg.current_text(CHANNEL, s.message_id) or "") for s in tg.sent_to(CHANNEL))
    # The embed's "Reports" field counts both outlets: the Discord message was edited too.
    assert all(
        m["embeds"][0]["fields"][1] == {"name": "Reports", "value": "2", "inline": True} for m in dc.messages.values()
    )
    assert not rig.tg_proxy.pending and not rig.dc_proxy.pending
    injected = http_faults + len(rig.tg_proxy.applied) + len(rig.dc_proxy.applied)
    print(f"\nplatform faults: {injected} injected over {passes} passes, alerts lost 0, duplicated 0")


async def test_a_deleted_alert_is_not_edited_or_posted_again(rig: Rig) -> None:
    """ "Message to edit not found" on both platforms parks the row as gone: no re-post, no retry storm."""
    ev = event("ev-gone", "Wire", headline=HEADLINES[4])
    rig.queue(ev)
    await rig.drain()
    [sent] = rig.telegram.sent_to(CHANNEL)
    rig.telegram.delete(CHANNEL, sent.message_id)
    rig.discord.delete_message(next(iter(rig.discord.messages)))
    rig.queue(event(ev.id, "Wire", "Paper", headline=ev.headline))
    await rig.drain()
    assert {row.sink: row.state for row in rig.store.deliveries()} == {TG: "gone", DC: "gone"}
    assert len(rig.telegram.calls_of("sendMessage")) == 1
    assert len(rig.telegram.calls_of("editMessageText")) == 1
    assert len(rig.discord.requests_to("POST")) == 1 and len(rig.discord.requests_to("PATCH")) == 1


async def test_a_refusing_platform_does_not_hold_up_the_other(rig: Rig) -> None:
    """While Telegram answers 403 to everything, Discord delivers every alert in the first pass."""
    rig.telegram.fault("403", method="sendMessage", times=100)
    for n in range(3):
        rig.queue(event(f"ev-{n}", "Wire", headline=HEADLINES[n]))
    await rig.worker.drain_once()
    assert rig.discord_posts() == Counter({h: 1 for h in HEADLINES[:3]})
    assert len(rig.telegram.calls_of("sendMessage")) == 1  # the fatal refusal stops this sink's pass at once
    rig.telegram.clear_faults()
    await rig.drain(step_s=700.0)
    assert rig.telegram_posts() == Counter({h: 1 for h in HEADLINES[:3]})


async def test_a_post_whose_answer_is_lost_is_sent_again_not_lost(rig: Rig) -> None:
    """The one inherent window: the platform posts, the answer is lost; the alert is re-sent (never lost).

    Neither the Bot API nor Discord webhooks take an idempotency key, so a client that never got the
    answer cannot know whether the post exists. Wirewatch chooses at-least-once here: the alert is posted
    again, and the reader may see it twice. This test pins that behaviour (docs/reliability.md).
    """
    rig.tg_proxy.fault("drop_answer", "sendMessage")
    rig.dc_proxy.fault("drop_answer", "POST /api/webhooks")
    rig.queue(event("ev-lost", "Wire", headline=HEADLINES[5]))
    await rig.drain()
    assert rig.telegram_posts()[HEADLINES[5]] == 2
    assert rig.discord_posts()[HEADLINES[5]] == 2
    assert {row.state for row in rig.store.deliveries()} == {"sent"}


async def test_flood_of_429s_is_honoured_without_a_retry_storm(rig: Rig) -> None:
    """Ten 429s in a row with retry_after=30: each retry waits its 30 s, so ten tries over five minutes."""
    rig.telegram.fault("429", method="sendMessage", retry_after=30, times=10)
    rig.queue(event("ev-flood", "Wire", headline=HEADLINES[0]))
    for _ in range(24):  # six minutes of worker clock, a pass every 15 s
        await rig.worker.drain_once()
        rig.clock.advance(15)
    calls = rig.telegram.calls_of("sendMessage")
    assert len(calls) == 11  # every 30 s over 300 s: ten refusals, then the post
    assert rig.telegram_posts() == Counter({HEADLINES[0]: 1})
