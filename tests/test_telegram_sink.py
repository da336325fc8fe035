"""TelegramSink against a loopback Bot API server, through the real python-telegram-bot client."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import Application

from bot.adapters.telegram import (
    TelegramSink,
    TokenRedactionFilter,
    build_application,
    install_token_redaction,
    redact,
    sink_name_for,
)
from bot.core.render_telegram import render_telegram
from bot.errors import DeliveryError, MessageGone, RetryLater, SinkFatal
from bot.models import Event, Report
from tests.fake_botapi import FakeBotAPI

# PTB's own RetryAfter.__init__ reads its deprecated int-valued retry_after; the sink itself does not warn.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

T0 = datetime(2017, 10, 26, 8, 12, tzinfo=UTC)
CHANNEL = "@wirewatch_test"


def make_event(event_id: str = "ev-1", outlets: int = 1, headline: str = "Xi and Kim meet") -> Event:
    """An event reported by `outlets` outlets."""
    reports = tuple(
        Report(f"a{i}", f"Outlet {i}", f"https://o{i}.example.com/story", f"Title {i}", T0, T0) for i in range(outlets)
    )
    return Event(event_id, reports, headline, "Talks in Beijing.", None, ("North Korea",), T0, T0 + timedelta(1))


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    """A running fake Bot API server."""
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def app(fake: FakeBotAPI) -> AsyncIterator[Application]:
    """An initialised Application talking to the fake; 429s reach the sink (no limiter retries)."""
    application = build_application(fake.token, fake.base_url, max_retries=0)
    await application.initialize()
    yield application
    await application.shutdown()


@pytest.fixture
def sink(app: Application) -> TelegramSink:
    """The channel sink."""
    return TelegramSink(app.bot, CHANNEL)


async def test_post_sends_html_without_previews_and_returns_the_message_id(
    fake: FakeBotAPI, sink: TelegramSink
) -> None:
    """post() sends the rendered alert as HTML with link previews off and returns Telegram's message id."""
    ev = make_event(outlets=3)
    assert await sink.post(ev, None) == "1"
    assert await sink.post(make_event("ev-2"), None) == "2"
    first = fake.sent_to(CHANNEL)[0]
    assert first.chat_ref == CHANNEL
    assert first.text == render_telegram(ev)
    assert first.parse_mode == "HTML"
    assert first.link_preview_disabled
    assert first.reply_to is None
    assert sink.name == "telegram:channel"


async def test_follow_up_is_posted_as_a_reply(fake: FakeBotAPI, sink: TelegramSink) -> None:
    """A follow-up replies to its parent's message, allowing the send when the parent was deleted."""
    parent = await sink.post(make_event("parent"), None)
    child = await sink.post(make_event("child"), parent)
    sent = fake.sent_to(CHANNEL)[-1]
    assert sent.message_id == int(child)
    assert sent.reply_to == int(parent)
    assert sent.allow_sending_without_reply
    fake.delete(CHANNEL, int(parent))
    orphan = await sink.post(make_event("orphan"), parent)  # the parent is gone: still posted
    assert fake.current_text(CHANNEL, int(orphan)) is not None


async def test_edit_replaces_the_text(fake: FakeBotAPI, sink: TelegramSink) -> None:
    """edit() rewrites the same message with the grown event."""
    message_id = await sink.post(make_event(outlets=1), None)
    grown = make_event(outlets=2)
    await sink.edit(message_id, grown)
    assert fake.current_text(CHANNEL, int(message_id)) == render_telegram(grown)
    assert len(fake.edits) == 1
    assert len(fake.sent) == 1


async def test_edit_with_unchanged_text_is_success(fake: FakeBotAPI, sink: TelegramSink) -> None:
    """Telegram's "message is not modified" counts as success."""
    ev = make_event()
    message_id = await sink.post(ev, None)
    await sink.edit(message_id, ev)
    assert fake.calls_of("editMessageText")[-1].status == 400
    assert fake.edits == []


async def test_edit_of_a_deleted_message_raises_message_gone(fake: FakeBotAPI, sink: TelegramSink) -> None:
    """An alert deleted by an admin is reported as MessageGone, so the outbox stops editing it."""
    message_id = await sink.post(make_event(), None)
    fake.delete(CHANNEL, int(message_id))
    with pytest.raises(MessageGone):
        await sink.edit(message_id, make_event(outlets=2))
    with pytest.raises(MessageGone):
        await sink.edit("not-a-number", make_event(outlets=2))


async def test_429_becomes_retry_later_with_retry_after(fake: FakeBotAPI, sink: TelegramSink) -> None:
    """Flood control: the server's retry_after reaches the outbox."""
    fake.fault("429", method="sendMessage", retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await sink.post(make_event(), None)
    assert caught.value.retry_after == 7
    message_id = await sink.post(make_event(), None)  # the next call goes through
    fake.fault("429", method="editMessageText", retry_after=3)
    with pytest.raises(RetryLater) as caught:
        await sink.edit(message_id, make_event(outlets=2))
    assert caught.value.retry_after == 3


async def test_rate_limiter_retries_a_429_itself_when_configured(fake: FakeBotAPI) -> None:
    """With max_retries, AIORateLimiter waits retry_after and retries, so the sink sees success."""
    application = build_application(fake.token, fake.base_url, max_retries=1)
    await application.initialize()
    try:
        fake.fault("429", method="sendMessage", retry_after=1)
        started = time.monotonic()
        assert await TelegramSink(application.bot, CHANNEL).post(make_event(), None) == "1"
        assert time.monotonic() - started >= 1.0
        assert [c.status for c in fake.calls_of("sendMessage")] == [429, 200]
    finally:
        await application.shutdown()


@pytest.mark.parametrize("kind", ["403", "401"])
async def test_bot_removed_or_token_revoked_is_fatal(fake: FakeBotAPI, sink: TelegramSink, kind: str) -> None:
    """403 (bot kicked or blocked) and 401 (invalid token) park the sink: SinkFatal."""
    fake.fault(kind, method="sendMessage")
    with pytest.raises(SinkFatal):
        await sink.post(make_event(), None)


async def test_chat_not_found_is_fatal_and_other_bad_requests_are_delivery_errors(
    fake: FakeBotAPI, sink: TelegramSink
) -> None:
    """A missing chat is a configuration problem (SinkFatal); any other 400 is a plain DeliveryError."""
    fake.fault("400", method="sendMessage", description="Bad Request: chat not found")
    with pytest.raises(SinkFatal):
        await sink.post(make_event(), None)
    fake.fault("400", method="sendMessage", description="Bad Request: something odd")
    with pytest.raises(DeliveryError) as caught:
        await sink.post(make_event(), None)
    assert type(caught.value) is DeliveryError
    assert isinstance(caught.value.__cause__, Exception)  # the PTB error is chained


@pytest.mark.parametrize("kind", ["500", "502"])
async def test_server_errors_retry_with_backoff(fake: FakeBotAPI, sink: TelegramSink, kind: str) -> None:
    """5xx answers are transient: RetryLater without a server-given delay."""
    fake.fault(kind, method="editMessageText")
    message_id = await sink.post(make_event(), None)
    with pytest.raises(RetryLater) as caught:
        await sink.edit(message_id, make_event(outlets=2))
    assert caught.value.retry_after is None


async def test_a_timeout_is_retry_later(fake: FakeBotAPI) -> None:
    """A Bot API call slower than the read timeout becomes RetryLater."""
    application = build_application(fake.token, fake.base_url, max_retries=0, read_timeout=0.3)
    await application.initialize()
    try:
        fake.fault("slow", method="sendMessage", delay=1.0)
        with pytest.raises(RetryLater):
            await TelegramSink(application.bot, 42).post(make_event(), None)
    finally:
        await application.shutdown()


async def test_a_refused_connection_is_retry_later(fake: FakeBotAPI) -> None:
    """A Bot API that is not listening (network error) becomes RetryLater."""
    application = build_application(fake.token, fake.base_url, max_retries=0)
    await application.initialize()
    try:
        fake.stop()
        with pytest.raises(RetryLater):
            await TelegramSink(application.bot, CHANNEL).post(make_event(), None)
    finally:
        await application.shutdown()


async def test_private_chat_sink(fake: FakeBotAPI, app: Application) -> None:
    """A subscriber's sink posts to the private chat and is named telegram:dm:<id>."""
    sink = TelegramSink(app.bot, 4242)
    assert sink.name == "telegram:dm:4242"
    assert await sink.post(make_event(), None) == "1"
    assert fake.sent_to(4242)[0].chat_id == 4242


def test_sink_names() -> None:
    """Channels (@name or negative id) are telegram:channel; positive ids are private chats."""
    assert sink_name_for("@news") == "telegram:channel"
    assert sink_name_for(-1001234) == "telegram:channel"
    assert sink_name_for(77) == "telegram:dm:77"


async def test_the_token_never_reaches_the_logs(fake: FakeBotAPI, caplog: pytest.LogCaptureFixture) -> None:
    """Through start-up, sends, edits and every failure, no log record (even at DEBUG) contains the token."""
    caplog.set_level(logging.DEBUG)
    application = build_application(fake.token, fake.base_url, max_retries=0)
    await application.initialize()
    try:
        sink = TelegramSink(application.bot, CHANNEL)
        message_id = await sink.post(make_event(), None)
        await sink.edit(message_id, make_event(outlets=2))
        await sink.edit(message_id, make_event(outlets=2))
        for kind in ("429", "500", "403", "401"):
            fake.fault(kind)
            with pytest.raises(DeliveryError) as caught:
                await sink.post(make_event(), None)
            assert fake.token not in str(caught.value)
    finally:
        await application.shutdown()
    assert caplog.records, "expected some log records to check"
    formatter = logging.Formatter()
    for record in caplog.records:
        assert fake.token not in formatter.format(record), record.name
    fake.assert_token_only_in_path()


def test_redaction_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    """install_token_redaction rewrites any record that mentions the token, plain or URL-encoded."""
    token = "999:SECRET-abc"
    logger = logging.getLogger("wirewatch.test.redaction")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        added = install_token_redaction(token, logger=logger)
        assert isinstance(added, TokenRedactionFilter)
        install_token_redaction(token, logger=logger)  # idempotent
        assert len(handler.filters) == 1
        logger.warning("POST https://api.telegram.org/bot%s/sendMessage", token)
        logger.warning("encoded: %s", "bot999%3ASECRET-abc")
        try:
            raise RuntimeError(f"failed calling /bot{token}/getMe")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "SECRET" not in output
    assert output.count("[token]") == 3
    assert "RuntimeError" in output  # the traceback itself is kept
    assert redact("x 999:SECRET-abc y", token) == "x [token] y"
