"""DiscordSink with the real aiohttp client against the loopback webhook API in tests/fake_discord.py."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.adapters.discord import (
    DiscordSink,
    discord_sinks,
    redact_webhook_url,
)
from bot.errors import ConfigError, DeliveryError, MessageGone, RetryLater, SinkFatal
from bot.models import Event, Report
from bot.sinks import Sink
from tests.fake_discord import FakeDiscord, embed_problems

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
HOOK_ID = "123456789012345678"
TOKEN = "s3cr3t-T0ken_abcdef"


def make_event(n_reports: int = 1, *, follows: str | None = None, headline: str = "Kim meets Xi") -> Event:
    """An event with `n_reports` reports from different outlets."""
    reports = tuple(
        Report(f"a{i}", f"Outlet {i}", f"https://news{i}.example/{i}", f"Story {i}", T0, T0 + timedelta(minutes=i))
        for i in range(n_reports)
    )
    return Event("e1", reports, headline, "They met.", follows, ("Kim",), T0, T0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord on loopback."""
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp client session."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def url(fake: FakeDiscord) -> str:
    """The URL of one registered webhook."""
    return fake.add_webhook(HOOK_ID, TOKEN)


def test_sink_satisfies_the_protocol(url: str, session: aiohttp.ClientSession) -> None:
    """DiscordSink is a Sink named "discord:<n>", and its repr hides the token."""
    sink: Sink = DiscordSink(session, url, index=2)
    assert sink.name == "discord:2"
    assert repr(sink) == f"DiscordSink(discord:2 (…/webhooks/{HOOK_ID}/***))"
    assert DiscordSink(session, url, name="discord:7").name == "discord:7"


async def test_post_creates_message_and_returns_its_id(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """post() executes the webhook with ?wait=true and returns the message id Discord gave."""
    message_id = await DiscordSink(session, url).post(make_event(2), None)
    message = fake.messages[message_id]
    assert message["embeds"][0]["title"] == "Kim meets Xi"
    assert message["allowed_mentions"] == {"parse": []}
    (request,) = fake.requests_to("POST")
    assert request.path == f"/api/webhooks/{HOOK_ID}/{TOKEN}"
    assert request.query == {"wait": "true"}


async def test_edit_replaces_the_embed(fake: FakeDiscord, url: str, session: aiohttp.ClientSession) -> None:
    """edit() PATCHes …/messages/{id} with the event's current embed."""
    sink = DiscordSink(session, url)
    message_id = await sink.post(make_event(1), None)
    await sink.edit(message_id, make_event(3, headline="Kim and Xi sign pact"))
    (request,) = fake.requests_to("PATCH")
    assert request.path == f"/api/webhooks/{HOOK_ID}/{TOKEN}/messages/{message_id}"
    embed = fake.messages[message_id]["embeds"][0]
    assert embed["title"] == "Kim and Xi sign pact"
    assert "**Outlets (3):**" in embed["description"]
    # Editing twice with the same event is fine (no "not modified" error on Discord).
    await sink.edit(message_id, make_event(3, headline="Kim and Xi sign pact"))


async def test_follow_up_links_its_parent_and_keeps_the_link_through_edits(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A follow-up's content links the parent message; the webhook is looked up once; edits keep the link."""
    sink = DiscordSink(session, url)
    parent = await sink.post(make_event(1), None)
    child = await sink.post(make_event(1, follows="e0"), parent)
    link = f"https://discord.com/channels/{fake.guild_id}/{fake.channel_id}/{parent}"
    assert fake.messages[child]["content"] == f"↪ Follow-up to {link}"
    await sink.edit(child, make_event(2, follows="e0"))
    assert fake.messages[child]["content"] == f"↪ Follow-up to {link}"
    assert "content" not in fake.requests_to("PATCH")[0].json
    await sink.post(make_event(1, follows="e0"), parent)
    assert len(fake.requests_to("GET")) == 1  # guild id cached after the first lookup


async def test_follow_up_after_restart_looks_up_guild_and_channel(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A fresh sink (after a restart) learns guild and channel from the webhook object before posting."""
    parent = await DiscordSink(session, url).post(make_event(1), None)
    child = await DiscordSink(session, url).post(make_event(1, follows="e0"), parent)
    assert fake.messages[child]["content"].endswith(f"/channels/{fake.guild_id}/{fake.channel_id}/{parent}")
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]


async def test_thread_query_is_kept_on_post_and_edit(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A URL with ?thread_id=… is used as given: posts and edits keep it, links point into the thread."""
    sink = DiscordSink(session, url + "?thread_id=777")
    parent = await sink.post(make_event(1), None)
    child = await sink.post(make_event(1, follows="e0"), parent)
    await sink.edit(child, make_event(2))
    assert fake.requests_to("POST")[0].query == {"thread_id": "777", "wait": "true"}
    assert fake.requests_to("PATCH")[0].query == {"thread_id": "777"}
    assert fake.messages[child]["content"].endswith(f"/channels/{fake.guild_id}/777/{parent}")


async def test_hostile_event_is_accepted_by_the_limit_checking_fake(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A 100 KB headline and 200 outlets still post (the fake rejects anything over a Discord limit)."""
    big = make_event(200, headline="@everyone " * 10_000)
    message_id = await DiscordSink(session, url).post(big, None)
    assert embed_problems(fake.requests_to("POST")[0].json) == []
    assert "@everyone" not in fake.messages[message_id]["embeds"][0]["title"]


async def test_429_raises_retry_later_and_the_next_call_waits(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A 429 becomes RetryLater(retry_after from the body); the sink's next request waits it out."""
    sink = DiscordSink(session, url)
    fake.rate_limit_next(0.3)
    with pytest.raises(RetryLater) as caught:
        await sink.post(make_event(), None)
    assert caught.value.retry_after == pytest.approx(0.3)
    await sink.post(make_event(), None)
    first, second = fake.requests_to("POST")
    assert second.at - first.at >= 0.25


async def test_retry_after_header_is_used_without_a_json_body(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A 429 from a proxy without Discord's JSON body still yields the Retry-After header's value."""
    fake.fail_next(429, "", headers={"Retry-After": "42"})
    with pytest.raises(RetryLater) as caught:
        await DiscordSink(session, url).post(make_event(), None)
    assert caught.value.retry_after == 42


async def test_long_rate_limit_is_handed_back_without_sending(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A wait longer than the inline limit comes back as RetryLater at once, with no request sent."""
    sink = DiscordSink(session, url)
    fake.rate_limit_next(30)
    with pytest.raises(RetryLater):
        await sink.post(make_event(), None)
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        await sink.post(make_event(), None)
    assert time.monotonic() - started < 0.5
    assert 25 < (caught.value.retry_after or 0) <= 30
    assert len(fake.requests) == 1


async def test_exhausted_bucket_waits_before_the_next_request(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """With X-RateLimit-Remaining 0 the sink waits Reset-After itself instead of drawing a 429."""
    fake.rate_limit, fake.rate_window_s = 1, 0.3
    sink = DiscordSink(session, url)
    await sink.post(make_event(), None)
    await sink.post(make_event(), None)
    first, second = fake.requests_to("POST")
    assert second.at - first.at >= 0.25
    assert len(fake.messages) == 2


async def test_global_429_holds_every_discord_sink_but_a_webhook_429_only_its_own(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """Global limits are shared by sinks built together; a per-webhook 429 never delays another webhook."""
    other = fake.add_webhook("223456789012345678", "other-token")
    one, two = discord_sinks(session, [url, other])
    assert (one.name, two.name) == ("discord:0", "discord:1")

    fake.rate_limit_next(0.3)  # per webhook
    with pytest.raises(RetryLater):
        await one.post(make_event(), None)
    started = time.monotonic()
    await two.post(make_event(), None)
    assert time.monotonic() - started < 0.2

    fake.rate_limit_next(0.3, is_global=True)
    with pytest.raises(RetryLater):
        await one.post(make_event(), None)
    started = time.monotonic()
    await two.post(make_event(), None)
    assert time.monotonic() - started >= 0.25


async def test_waiting_sink_does_not_block_other_sinks(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """While one sink sleeps out its bucket, another sink's post completes at once."""
    other = fake.add_webhook("223456789012345678", "other-token")
    one, two = discord_sinks(session, [url, other])
    fake.rate_limit_next(0.5)
    with pytest.raises(RetryLater):
        await one.post(make_event(), None)
    waiting = asyncio.create_task(one.post(make_event(), None))
    started = time.monotonic()
    await two.post(make_event(), None)
    assert time.monotonic() - started < 0.3 and not waiting.done()
    await waiting


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retry_later(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession, status: int
) -> None:
    """5xx → RetryLater with no fixed wait (the outbox backs off)."""
    fake.fail_next(status)
    with pytest.raises(RetryLater) as caught:
        await DiscordSink(session, url).post(make_event(), None)
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in str(caught.value)


async def test_slow_server_times_out_as_retry_later(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """A response slower than the timeout → RetryLater."""
    fake.delay_s = 0.5
    with pytest.raises(RetryLater):
        await DiscordSink(session, url, timeout_s=0.1).post(make_event(), None)


async def test_connection_refused_is_retry_later(session: aiohttp.ClientSession) -> None:
    """Nothing listening → RetryLater."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = DiscordSink(session, f"http://127.0.0.1:{port}/api/webhooks/1/{TOKEN}")
    with pytest.raises(RetryLater):
        await sink.post(make_event(), None)


async def test_deleted_webhook_is_fatal_on_post_and_edit(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """404 Unknown Webhook → SinkFatal that says what to do, whether posting or editing."""
    sink = DiscordSink(session, url)
    message_id = await sink.post(make_event(), None)
    fake.delete_webhook(HOOK_ID)
    with pytest.raises(SinkFatal, match="DISCORD_WEBHOOK_URL"):
        await sink.post(make_event(), None)
    with pytest.raises(SinkFatal, match="webhook not found"):
        await sink.edit(message_id, make_event())


async def test_deleted_message_is_gone_on_edit(fake: FakeDiscord, url: str, session: aiohttp.ClientSession) -> None:
    """404 Unknown Message on edit → MessageGone (not retried, not re-posted)."""
    sink = DiscordSink(session, url)
    message_id = await sink.post(make_event(), None)
    fake.delete_message(message_id)
    with pytest.raises(MessageGone):
        await sink.edit(message_id, make_event())
    with pytest.raises(MessageGone):
        await sink.edit("not-a-snowflake", make_event())


async def test_wrong_token_and_forbidden_are_fatal(fake: FakeDiscord, session: aiohttp.ClientSession) -> None:
    """401 (invalid webhook token) and 403 → SinkFatal."""
    fake.add_webhook(HOOK_ID, TOKEN)
    sink = DiscordSink(session, f"{fake.base_url}/api/webhooks/{HOOK_ID}/wrong-token")
    with pytest.raises(SinkFatal, match="Invalid Webhook Token"):
        await sink.post(make_event(), None)
    fake.fail_next(403, {"message": "Missing Access", "code": 50001})
    with pytest.raises(SinkFatal, match="Missing Access"):
        await DiscordSink(session, f"{fake.base_url}/api/webhooks/{HOOK_ID}/{TOKEN}").post(make_event(), None)


async def test_other_client_errors_carry_discords_message(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession
) -> None:
    """Any other 4xx → a plain DeliveryError with Discord's message, code and field errors."""
    fake.fail_next(400, {"message": "Invalid Form Body", "code": 50035, "errors": {"embeds": "too long"}})
    with pytest.raises(DeliveryError) as caught:
        await DiscordSink(session, url).post(make_event(), None)
    assert type(caught.value) is DeliveryError
    assert "Invalid Form Body" in str(caught.value) and "50035" in str(caught.value)
    assert "too long" in str(caught.value)


async def test_token_never_reaches_logs_or_errors(
    fake: FakeDiscord, url: str, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """Across every path (ok, 429, 5xx, 404, 401, 400, timeout, refused) no log line or error holds the token."""
    caplog.set_level(logging.DEBUG)
    sink = DiscordSink(session, url, timeout_s=0.2)
    errors: list[BaseException] = []

    async def attempt(coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except DeliveryError as exc:
            errors.append(exc)

    message_id = await sink.post(make_event(), None)
    await attempt(sink.post(make_event(follows="e0"), message_id))
    await attempt(sink.edit(message_id, make_event(2)))
    for status, body in [(429, {"retry_after": 0.01, "global": False}), (500, None), (400, None)]:
        fake.fail_next(status, body)
        await attempt(sink.post(make_event(), None))
        await asyncio.sleep(0.02)
    fake.fail_next(400, {"message": f"echo {url}", "code": 1})  # a server that echoes the URL back
    await attempt(sink.post(make_event(), None))
    fake.delay_s = 0.5
    await attempt(sink.post(make_event(), None))
    fake.delay_s = 0
    fake.delete_message(message_id)
    await attempt(sink.edit(message_id, make_event()))
    fake.delete_webhook(HOOK_ID)
    await attempt(sink.post(make_event(), None))
    await attempt(DiscordSink(session, f"http://127.0.0.1:1/api/webhooks/1/{TOKEN}").post(make_event(), None))
    await attempt(DiscordSink(session, f"{fake.base_url}/api/webhooks/{HOOK_ID}/{TOKEN}x").post(make_event(), None))

    assert len(errors) == 9
    assert caplog.records, "the sink should log something on these paths"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    for exc in errors:
        chain: BaseException | None = exc
        while chain is not None:
            assert TOKEN not in str(chain) and TOKEN not in repr(chain)
            chain = chain.__cause__
    assert any("…/webhooks/123456789012345678/***" in r.getMessage() for r in caplog.records)


def test_bad_urls_fail_fast_without_echoing_the_token(session: aiohttp.ClientSession) -> None:
    """A URL that is not http(s) or has no id/token path raises ConfigError naming the variable."""
    for bad in [
        f"ftp://discord.com/api/webhooks/1/{TOKEN}",
        "https://discord.com/",
        f"not a url {TOKEN}",
        f"https://discord.com/api/webhooks/{TOKEN}",
    ]:
        with pytest.raises(ConfigError, match=r"DISCORD_WEBHOOK_URL\[0\]") as caught:
            DiscordSink(session, bad)
        assert TOKEN not in str(caught.value)


def test_url_helpers() -> None:
    """Redaction keeps the webhook id and hides host and token."""
    assert redact_webhook_url(f"https://discord.com/api/webhooks/1/{TOKEN}?thread_id=5") == "…/webhooks/1/***"
    assert redact_webhook_url(f"http://127.0.0.1:9/hook/{TOKEN}") == "…/hook/***"


def test_fake_runs_in_a_background_thread_for_sync_callers() -> None:
    """The fake also serves from its own thread, for tests that are not async."""
    with FakeDiscord().in_thread() as server:
        hook = server.add_webhook()
        request = urllib.request.Request(
            hook + "?wait=true",
            data=json.dumps({"content": "hello"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
            assert response.headers["X-RateLimit-Bucket"]
        assert server.messages[body["id"]]["content"] == "hello"
