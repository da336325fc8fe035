"""Telegram and Discord together, end to end: the running service, a fake Bot API and a fake Discord webhook API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import (
    CHANNEL,
    COPY,
    FOLLOW,
    UNRELATED,
    WIRE,
    Newsroom,
    channel_posts,
    running,
    service_env,
    settings_for,
    until,
)
from tests.fake_botapi import FakeBotAPI
from tests.fake_discord import FakeDiscord


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    """A loopback Discord webhook API in the test's event loop."""
    async with FakeDiscord() as fake:
        yield fake


def discord_posts(fake: FakeDiscord, item: Any) -> list[dict[str, Any]]:
    """The Discord messages created by the webhook whose embed links `item`'s article."""
    return [m for m in fake.messages.values() if item.link in str(m.get("embeds"))]


def created(fake: FakeDiscord) -> list[Any]:
    """The successful webhook executions (message creations), in order."""
    return [r for r in fake.requests_to("POST") if r.json is not None]


async def test_telegram_and_discord_get_one_alert_per_event_and_the_same_edits(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom, discord: FakeDiscord
) -> None:
    """Each event is one Telegram post and one Discord message; a near-copy edits both in place; a follow-up
    replies on Telegram and links its parent on Discord."""
    webhook = discord.add_webhook()
    env = service_env(tmp_path, newsroom, botapi, DISCORD_WEBHOOK_URL=webhook)
    newsroom.publish(WIRE)
    async with running(settings_for(env)) as service:
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1 and len(discord_posts(discord, WIRE)) == 1)
        parent = discord_posts(discord, WIRE)[0]

        newsroom.publish(COPY)
        await until(
            service,
            lambda: COPY.link in (botapi.current_text(CHANNEL, 1) or "") and COPY.link in str(parent["embeds"]),
        )
        assert len(discord.messages) == 1
        patches = discord.requests_to("PATCH")
        assert patches and all(r.path.endswith(f"/messages/{parent['id']}") for r in patches)

        newsroom.publish(UNRELATED, FOLLOW)
        await until(service, lambda: len(botapi.sent_to(CHANNEL)) == 3 and len(discord.messages) == 3)
        follow = discord_posts(discord, FOLLOW)[0]
        assert parent["id"] in follow.get("content", ""), "the follow-up does not link its parent alert"
        assert channel_posts(botapi, FOLLOW)[0].reply_to == channel_posts(botapi, WIRE)[0].message_id

        polls = newsroom.server.hits("/northwire.xml")
        await until(service, lambda: newsroom.server.hits("/northwire.xml") >= polls + 1)
    for item in (WIRE, UNRELATED, FOLLOW):
        assert len(channel_posts(botapi, item)) == 1
        assert len(discord_posts(discord, item)) == 1
    assert len(botapi.edits) == len(discord.requests_to("PATCH"))
    for message in discord.messages.values():
        assert message["allowed_mentions"] == {"parse": []}


async def test_a_discord_429_does_not_delay_telegram(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom, discord: FakeDiscord
) -> None:
    """Discord answering 429 (retry after 1.5 s) leaves Telegram's post on time; Discord posts once the wait is over."""
    webhook = discord.add_webhook()
    discord.rate_limit_next(1.5, method="POST")
    env = service_env(tmp_path, newsroom, botapi, DISCORD_WEBHOOK_URL=webhook)
    newsroom.publish(WIRE)
    async with running(settings_for(env)) as service:
        await until(service, lambda: len(discord.requests_to("POST")) >= 1)
        limited_at = discord.requests_to("POST")[0].at
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1)
        telegram_at = botapi.calls_of("sendMessage")[0].at
        assert abs(telegram_at - limited_at) < 1.0
        await until(service, lambda: len(discord_posts(discord, WIRE)) == 1, within=10)
        posted_at = created(discord)[-1].at
        assert posted_at - limited_at >= 1.45, "Discord's retry_after was not honoured"
    assert len(discord.messages) == 1
    assert len(channel_posts(botapi, WIRE)) == 1


async def test_a_discord_outage_does_not_delay_telegram(
    tmp_path: Path, botapi: FakeBotAPI, newsroom: Newsroom, discord: FakeDiscord
) -> None:
    """While Discord hangs on every request, Telegram still gets the post and the edit within seconds."""
    webhook = discord.add_webhook()
    discord.delay_s = 30.0  # longer than the Discord client's own timeout: an outage, not a slow answer
    env = service_env(tmp_path, newsroom, botapi, DISCORD_WEBHOOK_URL=webhook)
    newsroom.publish(WIRE)
    async with running(settings_for(env), shutdown_grace_s=1.0) as service:
        await until(service, lambda: len(channel_posts(botapi, WIRE)) == 1)
        await until(service, lambda: len(discord.requests) >= 1)
        newsroom.publish(COPY)
        published = time.monotonic()
        await until(service, lambda: COPY.link in (botapi.current_text(CHANNEL, 1) or ""), within=6)
        assert time.monotonic() - published < 5
        newsroom.publish(UNRELATED)
        await until(service, lambda: len(channel_posts(botapi, UNRELATED)) == 1, within=6)
    assert discord.messages == {}
