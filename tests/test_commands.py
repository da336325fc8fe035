"""Chat commands through the real python-telegram-bot Application, polling a loopback Bot API server."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import Application

from bot.adapters.store import CycleRecord, Store
from bot.adapters.telegram import build_application
from bot.commands import COMMAND_BURST, CommandLimiter, Commands, split_reply
from bot.models import Event, Feed, Report
from tests.builders import Clock
from tests.fake_botapi import BOT_USERNAME, FakeBotAPI, Sent, utf16_len

T0 = datetime(2017, 10, 26, 8, 0, tzinfo=UTC)
USER = 1001
ADMIN = 7
GROUP = -500
CHANNEL = "@wirewatch_test"
TOPIC = "North Korea–China diplomacy"  # as config/topics.toml names it
FEEDS = [
    Feed("Reuters", "https://feeds.example.com/reuters.xml"),
    Feed("Yonhap", "https://feeds.example.com/yonhap.xml"),
    Feed("KCNA Watch", "https://feeds.example.com/kcna.xml"),
]


def make_event(n: int, *, outlets: int = 2, headline: str | None = None) -> Event:
    """Event n, first seen n hours after T0, reported by `outlets` outlets."""
    start = T0 + timedelta(hours=n)
    reports = tuple(
        Report(f"e{n}-a{i}", f"Outlet {i}", f"https://o{i}.example.com/e{n}", f"Title {n}.{i}", start, start)
        for i in range(outlets)
    )
    return Event(f"ev{n}", reports, headline or f"Headline {n}", "Summary.", None, ("China",), start, start)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    """A running fake Bot API server (short long-polls, so stopping the updater is quick)."""
    with FakeBotAPI(max_poll_wait=0.1) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    """Now is two days after T0."""
    return Clock(T0 + timedelta(days=2))


@pytest.fixture
def store() -> Iterator[Store]:
    """An in-memory store that knows the configured feeds."""
    db = Store.open(":memory:")
    db.sync_feeds(FEEDS)
    yield db
    db.close()


@pytest.fixture
def limiter() -> CommandLimiter:
    """A limit no test reaches by accident (the flood test parametrizes the real one)."""
    return CommandLimiter(burst=1000)


@pytest.fixture
def channel() -> str | None:
    """TELEGRAM_CHANNEL as the commands see it (a test parametrizes None for a bot without a channel)."""
    return CHANNEL


@pytest.fixture
async def bot_app(
    fake: FakeBotAPI, store: Store, clock: Clock, limiter: CommandLimiter, channel: str | None
) -> AsyncIterator[Application]:
    """The real Application with the commands attached, polling the fake server."""
    application = build_application(fake.token, fake.base_url, max_retries=0)
    await application.initialize()
    commands = Commands(
        store=store,
        feeds=FEEDS,
        admin_ids={ADMIN},
        channel=channel,
        started_at=T0 + timedelta(days=2) - timedelta(hours=3, minutes=12),
        clock=clock,
        topic=TOPIC,
        limiter=limiter,
    )
    await commands.attach(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def ask(
    fake: FakeBotAPI, text: str, *, chat_id: int = USER, user_id: int | None = None, chat_type: str = "private"
) -> Sent:
    """Send a message to the bot and return its (first) answer in that chat."""
    before = len(fake.sent_to(chat_id))
    fake.enqueue_message(text, chat_id=chat_id, user_id=user_id or chat_id, chat_type=chat_type)
    await fake.until(lambda: len(fake.sent_to(chat_id)) > before)
    return fake.sent_to(chat_id)[before]


async def settle(fake: FakeBotAPI) -> None:
    """Wait until every queued update has been handled (updates are handled in order)."""
    marker = 999_999
    await ask(fake, "/help", chat_id=marker)


async def test_commands_are_published_with_set_my_commands(bot_app: Application, fake: FakeBotAPI) -> None:
    """At start the command menu is sent to Telegram."""
    names = [c["command"] for c in fake.commands]
    assert names == ["latest", "sources", "subscribe", "unsubscribe", "help"]


@pytest.mark.parametrize("command", ["/start", "/help"])
async def test_start_and_help_explain_the_bot(bot_app: Application, fake: FakeBotAPI, command: str) -> None:
    """/start and /help say what is watched and list every command."""
    answer = await ask(fake, command)
    assert answer.parse_mode == "HTML"
    assert "watches 3 news feeds for North Korea–China diplomacy" in answer.plain
    for name in ("/latest", "/sources", "/subscribe", "/unsubscribe", "/help"):
        assert name in answer.plain
    assert 'href="https://t.me/wirewatch_test"' in answer.text


async def test_latest_lists_recent_events_with_age_outlets_and_channel_link(
    bot_app: Application, fake: FakeBotAPI, store: Store, clock: Clock
) -> None:
    """/latest shows the five newest events: headline, outlet count, age, and the public channel post."""
    for n in range(7):
        store.save_event(make_event(n, outlets=n + 1), T0)
    store.enqueue_delivery("telegram:channel", "ev6", revision=1, reply_to=None, now=T0)
    store.record_sent("telegram:channel", "ev6", message_id="42", revision=1, now=T0)
    answer = await ask(fake, "/latest")
    lines = answer.plain.splitlines()
    assert lines[0] == "Latest 5 events"
    headlines = [line for line in lines if re.match(r"\d+\. ", line)]
    assert headlines == ["1. Headline 6", "2. Headline 5", "3. Headline 4", "4. Headline 3", "5. Headline 2"]
    assert "7 outlets, 42 h ago" in answer.plain  # event 6 started 6 h after T0; now is T0 + 48 h
    assert '<a href="https://t.me/wirewatch_test/42">post</a>' in answer.text
    assert answer.text.count("t.me/wirewatch_test/") == 1  # only the event that has a channel post


async def test_latest_n_and_bad_arguments(bot_app: Application, fake: FakeBotAPI, store: Store) -> None:
    """/latest 2 lists two; n above the maximum is capped; a bad argument gets the usage line."""
    for n in range(3):
        store.save_event(make_event(n), T0)
    assert "Latest 2 events" in (await ask(fake, "/latest 2")).plain
    assert "Latest 3 events" in (await ask(fake, "/latest 500")).plain
    for bad in ("/latest abc", "/latest 0", "/latest -3", "/latest 1 2", "/latest 99999999999"):
        answer = await ask(fake, bad)
        assert answer.plain.startswith("Usage: /latest [n]"), bad


async def test_latest_without_events(bot_app: Application, fake: FakeBotAPI) -> None:
    """Before any event, /latest says so instead of staying silent."""
    assert (await ask(fake, "/latest")).plain.startswith("No events yet.")


async def test_hostile_headlines_are_escaped_in_replies(bot_app: Application, fake: FakeBotAPI, store: Store) -> None:
    """Feed text in replies is escaped (the fake rejects invalid HTML, as Telegram does)."""
    store.save_event(make_event(1, headline="<script>alert(1)</script> & <b>"), T0)
    answer = await ask(fake, "/latest")
    assert "<script>alert(1)</script> & <b>" in answer.plain
    sources = await ask(fake, "/sources ev1")
    assert "<script>alert(1)</script> & <b>" in sources.plain


async def test_sources_lists_feed_health(bot_app: Application, fake: FakeBotAPI, store: Store, clock: Clock) -> None:
    """/sources shows each feed: ok, failing since … with the error kind, or not polled yet."""
    now = clock()
    store.record_feed_success(
        "Reuters",
        status="ok",
        http_status=200,
        etag=None,
        last_modified=None,
        permanent_url=None,
        entries=10,
        now=now - timedelta(minutes=5),
        next_poll=now,
    )
    for minutes in (30, 15):
        store.record_feed_failure(
            "Yonhap",
            kind="timeout",
            message="read timed out",
            http_status=None,
            now=now - timedelta(minutes=minutes),
            next_poll=now,
        )
    answer = await ask(fake, "/sources")
    assert "Watching 3 feeds (1 failing)" in answer.plain
    assert "• Reuters — ok (checked 5 min ago)" in answer.plain
    assert "• Yonhap — failing since 28 Oct 2017 07:30 UTC (timeout, 2 failures)" in answer.plain
    assert "• KCNA Watch — not polled yet" in answer.plain
    assert "feeds.example.com" not in answer.text  # feed URLs (which may carry keys) are not shown


async def test_sources_for_one_event_lists_every_outlet(bot_app: Application, fake: FakeBotAPI, store: Store) -> None:
    """/sources ID lists every article of the event with its link, in the order outlets reported."""
    store.save_event(make_event(3, outlets=4), T0)
    answer = await ask(fake, "/sources ev3")
    assert "Reported by 4 outlets in 4 articles:" in answer.plain
    for i in range(4):
        assert f'<a href="https://o{i}.example.com/e3">Outlet {i}</a>' in answer.text
    assert answer.plain.index("Outlet 0") < answer.plain.index("Outlet 3")


async def test_sources_for_a_huge_event_is_split_within_limits(
    bot_app: Application, fake: FakeBotAPI, store: Store
) -> None:
    """An event with 120 outlets is answered in several messages, each accepted by Telegram."""
    store.save_event(make_event(1, outlets=120), T0)
    before = len(fake.sent_to(USER))
    fake.enqueue_message("/sources ev1", chat_id=USER, user_id=USER)
    await fake.until(lambda: "Outlet 119" in "".join(s.plain for s in fake.sent_to(USER)[before:]))
    parts = fake.sent_to(USER)[before:]
    assert len(parts) >= 2
    assert all(utf16_len(p.plain) <= 4096 for p in parts)
    shown = "".join(p.plain for p in parts)
    assert all(f"Outlet {i} " in shown for i in range(120))


async def test_sources_with_an_unknown_or_malformed_id(bot_app: Application, fake: FakeBotAPI) -> None:
    """An unknown id says so; a malformed argument gets the usage line."""
    assert (await ask(fake, "/sources nope")).plain.startswith("No event with id nope.")
    assert (await ask(fake, "/sources <b>x</b>")).plain.startswith("Usage: /sources")
    assert (await ask(fake, "/sources a b")).plain.startswith("Usage: /sources")


async def test_subscribe_and_unsubscribe_in_a_private_chat(
    bot_app: Application, fake: FakeBotAPI, store: Store
) -> None:
    """/subscribe stores the chat id, twice is harmless, /unsubscribe removes it."""
    assert (await ask(fake, "/subscribe")).plain.startswith("Subscribed: each new alert will also come here.")
    assert store.subscribers() == [USER]
    assert (await ask(fake, "/subscribe")).plain.startswith("You are already subscribed")
    assert (await ask(fake, "/unsubscribe")).plain.startswith("Unsubscribed")
    assert store.subscribers() == []
    assert (await ask(fake, "/unsubscribe")).plain.startswith("You were not subscribed")
    assert (await ask(fake, "/start subscribe")).plain.startswith("Subscribed")  # the deep link
    assert store.subscribers() == [USER]


@pytest.mark.parametrize("channel", [None])
async def test_without_a_channel_help_and_subscribe_say_alerts_come_to_private_chats(
    bot_app: Application, fake: FakeBotAPI, store: Store
) -> None:
    """With no TELEGRAM_CHANNEL, /help names subscribers' private chats as where alerts go, and /subscribe
    promises them here (not "also"): the service does deliver them there."""
    help_text = (await ask(fake, "/help")).plain
    assert "one alert per event in the private chat of everyone who uses /subscribe" in help_text
    assert "channel" not in help_text
    answer = (await ask(fake, "/subscribe")).plain
    assert answer.startswith("Subscribed: each new alert will come here.")
    assert store.subscribers() == [USER]


async def test_subscribe_in_a_group_points_to_a_private_chat(
    bot_app: Application, fake: FakeBotAPI, store: Store
) -> None:
    """Groups are not subscribed; the answer links to a private chat with the bot."""
    answer = await ask(fake, "/subscribe", chat_id=GROUP, user_id=USER, chat_type="group")
    assert f"https://t.me/{BOT_USERNAME}?start=subscribe" in answer.text
    assert store.subscribers() == []


async def test_status_is_for_admins_only(bot_app: Application, fake: FakeBotAPI, store: Store, clock: Clock) -> None:
    """Others get a polite refusal without admin data; an admin sees uptime, last cycle, failures, outbox."""
    refusal = await ask(fake, "/status")
    assert refusal.plain.startswith("Sorry, /status is only for the bot's admins")
    assert "Outbox" not in refusal.plain and "Uptime" not in refusal.plain

    store.record_cycle(
        CycleRecord(
            started=clock() - timedelta(minutes=3),
            finished=clock() - timedelta(minutes=2),
            feeds=3,
            errors=1,
            entries=40,
            new=5,
            matched=2,
            events=1,
        )
    )
    store.record_feed_failure("Yonhap", kind="http", message="503", http_status=503, now=clock(), next_poll=clock())
    store.save_event(make_event(1), T0)
    store.enqueue_delivery("telegram:channel", "ev1", revision=1, reply_to=None, now=T0)
    answer = await ask(fake, "/status", chat_id=ADMIN)
    assert "Uptime: 3 h 12 min" in answer.plain
    assert "Last cycle: 2 min ago (40 entries, 5 new, 2 matched, 1 events, 1 errors)" in answer.plain
    assert "Feeds failing: 1 of 3 (Yonhap)" in answer.plain
    assert "Outbox depth: 1" in answer.plain

    in_group = await ask(fake, "/status", chat_id=GROUP, user_id=ADMIN, chat_type="supergroup")
    assert "private chat" in in_group.plain and "Uptime" not in in_group.plain


def hold_back(store: Store, feed: str, now: datetime, *, hours: float) -> datetime:
    """Record a 429 whose Retry-After holds the feed back for `hours`; return until when."""
    until = now + timedelta(hours=hours)
    store.record_feed_failure(
        feed,
        kind="http",
        message="HTTP 429 Too Many Requests",
        http_status=429,
        now=now,
        next_poll=until,
        retry_after_until=until,
    )
    return until


async def test_status_and_sources_show_a_feed_held_back_by_retry_after(
    bot_app: Application, fake: FakeBotAPI, store: Store, clock: Clock
) -> None:
    """A feed whose server answered 429 with Retry-After is listed in /status and /sources with until when."""
    until = hold_back(store, "Yonhap", clock(), hours=2)
    status = (await ask(fake, "/status", chat_id=ADMIN)).plain
    assert "Not polled, as their servers asked (Retry-After): Yonhap until 28 Oct 2017 10:00 UTC" in status
    sources = (await ask(fake, "/sources")).plain
    assert "Yonhap — failing since 28 Oct 2017 08:00 UTC (http, 1 failure; server asked to wait until" in sources
    clock.now = until
    assert "Retry-After" not in (await ask(fake, "/status", chat_id=ADMIN)).plain


async def test_unknown_commands(bot_app: Application, fake: FakeBotAPI) -> None:
    """Unknown commands get a hint in private chats, and in groups only when addressed to this bot."""
    assert (await ask(fake, "/frobnicate now")).plain == "I don't know /frobnicate. Try /help for the list of commands."
    addressed = await ask(fake, f"/frobnicate@{BOT_USERNAME}", chat_id=GROUP, user_id=USER, chat_type="group")
    assert addressed.plain.startswith("I don't know /frobnicate")
    before = len(fake.sent_to(GROUP))
    fake.enqueue_message("/frobnicate", chat_id=GROUP, user_id=USER, chat_type="group")
    fake.enqueue_message("/latest@some_other_bot", chat_id=GROUP, user_id=USER, chat_type="group")
    await settle(fake)
    assert len(fake.sent_to(GROUP)) == before


async def test_commands_addressed_with_the_bot_name(bot_app: Application, fake: FakeBotAPI) -> None:
    """/latest@botname works in groups (and quotes the command there)."""
    answer = await ask(fake, f"/latest@{BOT_USERNAME} 3", chat_id=GROUP, user_id=USER, chat_type="group")
    assert answer.plain.startswith("No events yet.")
    assert answer.reply_to is not None


@pytest.mark.parametrize("limiter", [CommandLimiter()])  # the default limits
async def test_flood_limit_warns_once_then_stays_silent(bot_app: Application, fake: FakeBotAPI, clock: Clock) -> None:
    """Past the burst a user gets one "slow down", then silence, and is served again after the window."""
    for _ in range(COMMAND_BURST):
        await ask(fake, "/help")
    assert (await ask(fake, "/help")).plain.startswith("Slow down")
    before = len(fake.sent_to(USER))
    for _ in range(3):
        fake.enqueue_message("/latest", chat_id=USER, user_id=USER)
    await settle(fake)  # another user is still served meanwhile
    assert len(fake.sent_to(USER)) == before
    clock.now += timedelta(seconds=10)
    assert "watches 3 news feeds" in (await ask(fake, "/help")).plain


async def test_a_store_failure_gets_an_apology(bot_app: Application, fake: FakeBotAPI, store: Store) -> None:
    """When the database cannot be read the user gets a short apology, not silence."""
    store.close()
    assert (await ask(fake, "/latest")).plain.startswith("Sorry, something went wrong")


async def test_the_token_is_not_logged_while_serving_commands(
    fake: FakeBotAPI, store: Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Polling and replying at DEBUG level log nothing that contains the token."""
    caplog.set_level(logging.DEBUG)
    application = build_application(fake.token, fake.base_url, max_retries=0)
    await application.initialize()
    await Commands(store=store, feeds=FEEDS, admin_ids=(), channel="", started_at=T0, clock=clock, topic=TOPIC).attach(
        application
    )
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await ask(fake, "/help")
        await ask(fake, "/latest")
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    formatter = logging.Formatter()
    assert all(fake.token not in formatter.format(r) for r in caplog.records)
    fake.assert_token_only_in_path()


def test_limiter_is_per_user_and_refills() -> None:
    """The token bucket allows a burst per user, warns once, drops, and refills over the window."""
    limiter = CommandLimiter(burst=2, window_s=10)
    assert [limiter.check(1, T0) for _ in range(4)] == ["allow", "allow", "warn", "drop"]
    assert limiter.check(2, T0) == "allow"
    assert limiter.check(1, T0 + timedelta(seconds=5)) == "allow"  # one token back after half the window
    assert limiter.check(1, T0 + timedelta(seconds=5)) == "warn"


def test_split_reply_respects_the_budget() -> None:
    """Long replies are split on line boundaries and capped in number of parts."""
    lines = [f"line {i} " + "x" * 90 for i in range(200)]
    parts = split_reply(lines, budget=1000, max_parts=3)
    assert len(parts) == 3
    assert all(utf16_len(p) <= 1000 + 40 for p in parts)
    assert parts[-1].endswith("more lines")


async def test_polling_survives_a_failing_get_updates(bot_app: Application, fake: FakeBotAPI) -> None:
    """A 500 from getUpdates does not stop the bot answering afterwards."""
    fake.fault("500", method="getUpdates")
    await asyncio.sleep(0.1)
    assert "watches" in (await ask(fake, "/help")).plain


async def test_status_counts_only_the_configured_feeds(
    bot_app: Application, fake: FakeBotAPI, store: Store, clock: Clock
) -> None:
    """A feed removed from feeds.toml (its row stays in the database) while failing and held back by
    Retry-After is neither counted as failing nor listed as held back: /status is about the feeds watched."""
    store.sync_feeds([Feed("Gone Wire", "https://gone.example/rss")])
    hold_back(store, "Gone Wire", clock(), hours=2)
    status = (await ask(fake, "/status", chat_id=ADMIN)).plain
    assert f"Feeds failing: 0 of {len(FEEDS)}" in status
    assert "Gone Wire" not in status
