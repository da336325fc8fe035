"""The running service end to end: loopback feeds in, the real python-telegram-bot client out to a fake Bot API.

In-process tests run `run_service` in the test's event loop; the tests where a process boundary matters
(SIGKILL and restart, SIGTERM, a token refused at start-up) run the real `wirewatch run` in a child process.
"""

from __future__ import annotations

import io
import logging
import signal
import time
from pathlib import Path

import pytest

from bot.adapters.store import Store
from tests.e2e import (
    CHANNEL,
    COPY,
    FOLLOW,
    OFF_TOPIC,
    UNRELATED,
    WIRE,
    Newsroom,
    channel_posts,
    process,
    running,
    service_env,
    settings_for,
    until,
)
from tests.fake_botapi import FakeBotAPI

USER = 1001  # the private chat (and user id) commands come from in these tests


def replies_to(botapi: FakeBotAPI, chat: int) -> list[str]:
    """The plain texts the bot sent to a private chat."""
    return [s.plain for s in botapi.sent_to(chat)]


async def test_story_is_posted_once_edited_by_its_copy_and_threaded_by_its_follow_up(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    """Off-topic is never posted; a story is posted once, edited in place by a near-copy; an unrelated event is a
    second post; a follow-up replies to its parent; no log line carries the token."""
    caplog.set_level(logging.DEBUG)
    newsroom.publish(WIRE, OFF_TOPIC)
    settings = settings_for(service_env(tmp_path, newsroom, botapi))
    async with running(settings) as service:
        await until(service, lambda: len(botapi.sent_to(CHANNEL)) == 1)
        first = botapi.sent_to(CHANNEL)[0]
        assert WIRE.link in first.text
        assert first.reply_to is None
        assert first.parse_mode == "HTML"

        newsroom.publish(COPY)
        await until(service, lambda: any(COPY.link in e.text for e in botapi.edits))
        edit = next(e for e in botapi.edits if COPY.link in e.text)
        assert (edit.chat_id, edit.message_id) == (first.chat_id, first.message_id)
        assert len(botapi.sent_to(CHANNEL)) == 1, "the near-copy must edit the alert, not post another"

        newsroom.publish(UNRELATED)
        await until(service, lambda: len(botapi.sent_to(CHANNEL)) == 2)
        second = botapi.sent_to(CHANNEL)[1]
        assert UNRELATED.link in second.text
        assert second.reply_to is None

        newsroom.publish(FOLLOW)
        await until(service, lambda: len(botapi.sent_to(CHANNEL)) == 3)
        third = botapi.sent_to(CHANNEL)[2]
        assert FOLLOW.link in third.text
        assert third.reply_to == first.message_id

        # Another poll (all 304s) changes nothing.
        polls = newsroom.server.hits("/northwire.xml")
        await until(service, lambda: newsroom.server.hits("/northwire.xml") >= polls + 1)
    assert len(botapi.sent_to(CHANNEL)) == 3
    assert not any(OFF_TOPIC.title in s.plain for s in botapi.sent)
    assert not any(OFF_TOPIC.title in e.plain for e in botapi.edits)
    assert botapi.current_text(CHANNEL, first.message_id) is not None
    assert COPY.link in (botapi.current_text(CHANNEL, first.message_id) or "")
    botapi.assert_token_only_in_path()
    assert caplog.records, "the service logged nothing at DEBUG level"
    assert botapi.token not in caplog.text
    for record in caplog.records:
        assert botapi.token not in record.getMessage()
        assert botapi.token not in (record.exc_text or "")


async def test_flood_control_delays_the_post_without_duplicating_it(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom
) -> None:
    """A 429 from Telegram is waited out (its retry_after honoured) and the alert is then posted exactly once."""
    botapi.fault("429", method="sendMessage", times=1, retry_after=1)
    newsroom.publish(WIRE)
    settings = settings_for(service_env(tmp_path, newsroom, botapi))
    async with running(settings) as service:
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1)
        attempts = botapi.calls_of("sendMessage")
        assert [c.status for c in attempts] == [429, 200]
        assert attempts[1].at - attempts[0].at >= 0.95
        polls = newsroom.server.hits("/northwire.xml")
        await until(service, lambda: newsroom.server.hits("/northwire.xml") >= polls + 1)
    assert len(botapi.calls_of("sendMessage")) == 2


async def test_latest_and_sources_answer_in_a_private_chat(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom
) -> None:
    """/latest lists the posted event with its headline; /sources lists every watched feed with its health."""
    newsroom.publish(WIRE)
    settings = settings_for(service_env(tmp_path, newsroom, botapi))
    async with running(settings) as service:
        await until(service, lambda: len(botapi.sent_to(CHANNEL)) == 1)
        botapi.enqueue_message("/latest", chat_id=USER, user_id=USER)
        await until(service, lambda: len(botapi.sent_to(USER)) >= 1)
        latest = botapi.sent_to(USER)[0].plain
        assert WIRE.title in latest
        assert "1 outlet" in latest

        botapi.enqueue_message("/sources", chat_id=USER, user_id=USER)
        await until(service, lambda: len(botapi.sent_to(USER)) >= 2)
        sources = botapi.sent_to(USER)[1].plain
        for name in ("Northwire", "Harbour Post", "Capital Daily"):
            assert name in sources
        assert "ok" in sources
    assert botapi.commands, "the command list was not published with setMyCommands"


async def test_subscribe_brings_later_alerts_to_the_private_chat(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom
) -> None:
    """After /subscribe, a new alert reaches the subscriber's private chat as well as the channel, edits too."""
    settings = settings_for(service_env(tmp_path, newsroom, botapi))
    async with running(settings) as service:
        botapi.enqueue_message("/subscribe", chat_id=USER, user_id=USER)
        await until(service, lambda: any("Subscribed" in t for t in replies_to(botapi, USER)))

        newsroom.publish(WIRE)
        await until(service, lambda: any(WIRE.link in s.text for s in botapi.sent_to(USER)))
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1)
        dm = next(s for s in botapi.sent_to(USER) if WIRE.link in s.text)

        newsroom.publish(COPY)
        await until(service, lambda: COPY.link in (botapi.current_text(USER, dm.message_id) or ""))
        await until(service, lambda: COPY.link in (botapi.current_text(CHANNEL, 1) or ""))
    assert len([s for s in botapi.sent_to(USER) if WIRE.link in s.text]) == 1


async def test_without_a_channel_subscribers_still_get_every_alert(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom
) -> None:
    """A token but no TELEGRAM_CHANNEL: /subscribe's promise holds, the alert reaches the private chat and is
    edited there; nothing is sent to any channel."""
    settings = settings_for(service_env(tmp_path, newsroom, botapi, TELEGRAM_CHANNEL=""))
    assert settings.telegram_channel is None
    async with running(settings) as service:
        botapi.enqueue_message("/subscribe", chat_id=USER, user_id=USER)
        await until(service, lambda: any("Subscribed" in t for t in replies_to(botapi, USER)))
        assert "will come here" in replies_to(botapi, USER)[0]

        newsroom.publish(WIRE)
        await until(service, lambda: any(WIRE.link in s.text for s in botapi.sent_to(USER)))
        dm = next(s for s in botapi.sent_to(USER) if WIRE.link in s.text)
        newsroom.publish(COPY)
        await until(service, lambda: COPY.link in (botapi.current_text(USER, dm.message_id) or ""))
    assert [s.chat_id for s in botapi.sent if WIRE.link in s.text] == [dm.chat_id]
    assert botapi.sent_to(CHANNEL) == []


async def test_a_subscriber_who_blocked_the_bot_is_unsubscribed(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom
) -> None:
    """A private chat answering 403 (the user blocked the bot) loses its subscription; the channel is unaffected."""
    env = service_env(tmp_path, newsroom, botapi)
    settings = settings_for(env)
    async with running(settings) as service:
        botapi.enqueue_message("/subscribe", chat_id=USER, user_id=USER)
        await until(service, lambda: any("Subscribed" in t for t in replies_to(botapi, USER)))
        botapi.fault(
            "403", method="sendMessage", chat_id=USER, times=100, description="Forbidden: bot was blocked by the user"
        )
        newsroom.publish(WIRE)
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1)
        store = Store.open(settings.db_path)
        try:
            await until(service, lambda: store.subscribers() == [])
        finally:
            store.close()
        blocked = len([c for c in botapi.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(USER)])
        newsroom.publish(UNRELATED)
        await until(service, lambda: len(channel_posts(botapi, UNRELATED)) == 1)
        polls = newsroom.server.hits("/capital-daily.xml")
        await until(service, lambda: newsroom.server.hits("/capital-daily.xml") >= polls + 1)
    after = len([c for c in botapi.calls_of("sendMessage") if str(c.params.get("chat_id")) == str(USER)])
    assert after == blocked, "the service kept writing to a chat that blocked it"


@pytest.mark.slow
def test_restart_after_sigkill_posts_nothing_twice(tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom) -> None:
    """SIGKILL mid-run, then a restart on the same database: each event is posted exactly once, none is lost,
    and the edit queued before the kill still happens; no output of either run shows the token."""
    env = service_env(tmp_path, newsroom, botapi)
    newsroom.publish(WIRE, OFF_TOPIC)
    with process(tmp_path, env, "first") as first:
        botapi.wait_for(lambda: len(channel_posts(botapi, WIRE)) == 1, timeout=15)
        # Telegram goes down: the near-copy's edit and the unrelated event's post fail and wait in the outbox.
        botapi.fault("500", times=1000)
        newsroom.publish(COPY, UNRELATED)
        botapi.wait_for(
            lambda: (
                any(UNRELATED.link in c.params.get("text", "") for c in botapi.calls_of("sendMessage"))
                and len(botapi.calls_of("editMessageText")) >= 1
            ),
            timeout=10,
        )
        first.kill()
        assert first.proc.returncode == -signal.SIGKILL
        first_output = first.output
    botapi.clear_faults()
    assert len(channel_posts(botapi, UNRELATED)) == 0

    with process(tmp_path, env, "second") as second:
        botapi.wait_for(lambda: len(channel_posts(botapi, UNRELATED)) == 1, timeout=15)
        botapi.wait_for(lambda: COPY.link in (botapi.current_text(CHANNEL, 1) or ""), timeout=10)
        newsroom.publish(FOLLOW)
        botapi.wait_for(lambda: len(channel_posts(botapi, FOLLOW)) == 1, timeout=10)
        polls = newsroom.server.hits("/northwire.xml")
        botapi.wait_for(lambda: newsroom.server.hits("/northwire.xml") >= polls + 1)
        second.signal(signal.SIGTERM)
        assert second.wait(10) == 0
        second_output = second.output

    for item in (WIRE, UNRELATED, FOLLOW):
        assert len(channel_posts(botapi, item)) == 1, f"{item.slug} posted {len(channel_posts(botapi, item))} times"
    assert len(botapi.sent_to(CHANNEL)) == 3
    assert botapi.sent_to(CHANNEL)[-1].reply_to == channel_posts(botapi, WIRE)[0].message_id
    for output in (first_output, second_output):
        assert "started" in output
        assert botapi.token not in output
        assert botapi.token.split(":", 1)[1] not in output
    botapi.assert_token_only_in_path()


def test_sigterm_stops_the_service_cleanly(tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom) -> None:
    """SIGTERM makes `wirewatch run` finish in-flight work and exit with status 0 within a few seconds."""
    newsroom.publish(WIRE)
    env = service_env(tmp_path, newsroom, botapi)
    with process(tmp_path, env) as child:
        botapi.wait_for(lambda: len(channel_posts(botapi, WIRE)) == 1, timeout=15)
        botapi.wait_for(lambda: len(botapi.calls_of("getUpdates")) >= 1)
        child.signal(signal.SIGTERM)
        began = time.monotonic()
        status = child.wait(10)
        elapsed = time.monotonic() - began
        output = child.output
    assert status == 0, output
    assert elapsed < 5, f"shutdown took {elapsed:.1f} s"
    assert "stopped cleanly" in output
    assert botapi.token not in output


def test_a_refused_token_stops_start_up_with_a_clear_message(tmp_path: Path, newsroom: Newsroom) -> None:
    """A token the Bot API answers 401 to: `wirewatch run` says so, exits non-zero at once, asks getMe once."""
    with FakeBotAPI(token="999999:the-real-token_of_this_bot") as botapi:
        refused = "123456:revoked-token_value"
        env = service_env(tmp_path, newsroom, botapi, TELEGRAM_BOT_TOKEN=refused)
        with process(tmp_path, env) as child:
            began = time.monotonic()
            status = child.wait(15)
            elapsed = time.monotonic() - began
            output = child.output
        get_me = botapi.calls_of("getMe")
    assert status != 0, output
    assert elapsed < 10
    assert "TELEGRAM_BOT_TOKEN" in output
    assert "rejected" in output.lower() or "refused" in output.lower()
    assert len(get_me) == 1, f"{len(get_me)} getMe calls: the start-up retried a refused token"
    assert refused not in output
    assert refused.split(":", 1)[1] not in output
    assert "Traceback" not in output


async def test_console_numbering_goes_on_after_a_restart(tmp_path: Path, newsroom: Newsroom) -> None:
    """Without a token alerts are printed; a restarted service numbers its next alert after the last one."""
    newsroom.publish(WIRE)
    settings = settings_for(service_env(tmp_path, newsroom, None))
    first = io.StringIO()
    async with running(settings, console=first) as service:
        await until(service, lambda: "alert #1 posted" in first.getvalue())
    newsroom.publish(UNRELATED)
    second = io.StringIO()
    async with running(settings, console=second) as service:
        await until(service, lambda: "posted" in second.getvalue())
    assert "alert #2 posted" in second.getvalue()
    assert "alert #1 posted" not in second.getvalue()
