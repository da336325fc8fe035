"""Discord webhook sink: posts one embed per event, edits it in place, maps every failure to our errors.

The webhook URL's last path segment is a secret token (anyone holding it can post), so the URL is never
logged or put in an exception message: `label` is the redacted form, e.g. "discord:0 (…/webhooks/123/***)".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from yarl import URL

from bot.core.render_discord import render_discord
from bot.errors import DeliveryError, MessageGone, RetryLater, SinkFatal
from bot.models import Event
from bot.settings import check_webhook_url

log = logging.getLogger(__name__)

# Discord's JSON error code that tells a deleted webhook from a deleted message in a 404 (developer docs,
# "JSON Error Codes"; a deleted message is 10008, which is every other 404 on an edit).
UNKNOWN_WEBHOOK = 10015

DEFAULT_TIMEOUT_S = 15.0
# A rate-limit wait up to this long happens inside post()/edit() (this sink's coroutine only); a longer one
# is handed back to the outbox as RetryLater so the worker is not parked for minutes on one sink.
MAX_INLINE_WAIT_S = 10.0
# When a 429 carries no usable retry_after at all, wait this long before the next request on this bucket.
FALLBACK_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 3600.0  # a bigger value is a broken server, not a plan


class DiscordRateLimits:
    """Rate-limit state shared by all Discord sinks of one process: Discord's global limit is per client IP."""

    def __init__(self) -> None:
        self.global_until = 0.0  # time.monotonic() before which no Discord request may be sent


class DiscordSink:
    """The Sink for one Discord webhook URL (used exactly as given, any host), named "discord:<n>"."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        webhook_url: str,
        *,
        index: int = 0,
        name: str | None = None,
        limits: DiscordRateLimits | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_inline_wait_s: float = MAX_INLINE_WAIT_S,
    ) -> None:
        self.name = name or f"discord:{index}"
        # The same check as the settings (check-config and run): a bad URL fails here too, never later.
        url = URL(check_webhook_url(webhook_url, f"DISCORD_WEBHOOK_URL[{index}]"), encoded=True)
        self._token = [s for s in url.raw_path.split("/") if s][-1]
        self.label = f"{self.name} ({redact_webhook_url(webhook_url)})"
        self._session = session
        self._url = url
        self._post_url = url.update_query(wait="true")
        self._info_url = url.with_query(None)
        self._thread_id = url.query.get("thread_id")
        self._limits = limits if limits is not None else DiscordRateLimits()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_inline_wait = max_inline_wait_s
        self._bucket_of: dict[str, str] = {}  # operation → X-RateLimit-Bucket, once Discord has told us
        self._reset_at: dict[str, float] = {}  # bucket (or operation) → monotonic time it is usable again
        self._guild_id: str | None = None
        self._channel_id: str | None = self._thread_id

    def __repr__(self) -> str:
        return f"DiscordSink({self.label})"

    async def post(self, event: Event, reply_to: str | None = None) -> str:
        """Post the alert (with a link to the parent alert's message id `reply_to`, when given); return its id."""
        parent_link = await self.message_link(reply_to) if reply_to else None
        data = await self._call("POST", self._post_url, render_discord(event, parent_link=parent_link), "post")
        message_id = data.get("id")
        if not isinstance(message_id, str | int) or not str(message_id).isdigit():
            raise DeliveryError(f"{self.label}: post answered without a message id (was ?wait=true dropped?)")
        self._remember_place(data)
        return str(message_id)

    async def edit(self, message_id: str, event: Event) -> None:
        """Replace the alert's embed with the current event; the follow-up link in `content` is left as it is."""
        if not message_id.isdigit():
            raise MessageGone(f"{self.label}: {message_id!r} is not a Discord message id; cannot edit it")
        payload = render_discord(event)
        # Omitted fields are left unchanged by Discord, so `content` (the parent link) survives the edit.
        payload.pop("content", None)
        edit_url = self._url.with_path(
            f"{self._url.raw_path.rstrip('/')}/messages/{message_id}", encoded=True
        ).with_query(self._url.query)
        await self._call("PATCH", edit_url, payload, "edit")

    async def message_link(self, message_id: str) -> str | None:
        """The https://discord.com/channels/{guild}/{channel}/{message} link to a message of this webhook.

        The channel comes from the URL's thread_id, else from our last post's response, else from the
        webhook itself (one GET, cached). The guild id comes from the webhook object; "@me" is used only
        when Discord gives none, which does not happen for webhooks of server channels.
        """
        if not message_id.isdigit():
            log.warning("%s: parent message id %r is not a snowflake; posting without a link", self.label, message_id)
            return None
        if self._guild_id is None or self._channel_id is None:
            info = await self._call("GET", self._info_url, None, "lookup")
            self._guild_id = str(info.get("guild_id") or "@me")
            if self._channel_id is None and info.get("channel_id"):
                self._channel_id = str(info["channel_id"])
        if self._channel_id is None:
            return None
        return f"https://discord.com/channels/{self._guild_id}/{self._channel_id}/{message_id}"

    def _remember_place(self, message: dict[str, Any]) -> None:
        """Cache the channel (and guild, if the message names it) that this webhook posts into."""
        if message.get("guild_id"):
            self._guild_id = str(message["guild_id"])
        if self._thread_id is None and message.get("channel_id"):
            self._channel_id = str(message["channel_id"])

    async def _call(self, method: str, url: URL, payload: dict[str, Any] | None, op: str) -> dict[str, Any]:
        """Send one request after any rate-limit wait; return the JSON object or raise a DeliveryError."""
        await self._wait_turn(op)
        try:
            async with self._session.request(method, url, json=payload, timeout=self._timeout) as resp:
                status = resp.status
                headers = resp.headers
                raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            text = self._redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            err = RetryLater(f"{self.label}: {op} failed: {text}")
            if self._token and self._token in repr(exc):
                raise err from None  # the cause would print the token in a traceback
            raise err from exc
        log.debug("%s: %s %s → HTTP %s", self.label, method, op, status)
        self._note_limits(op, headers)
        data = _json_object(raw)
        if 200 <= status < 300:
            return data
        if status == 429:
            self._rate_limited(op, headers, data)
        detail = self._redact(_error_detail(status, data))
        if status >= 500:
            raise RetryLater(f"{self.label}: {op} failed: {detail}")
        if status == 404:
            if op == "edit" and data.get("code") != UNKNOWN_WEBHOOK:
                raise MessageGone(f"{self.label}: the message to edit no longer exists ({detail})")
            log.warning("%s: webhook not found (%s)", self.label, detail)
            raise SinkFatal(
                f"{self.label}: webhook not found ({detail}): it was deleted or the URL is wrong; "
                "create a new webhook and update DISCORD_WEBHOOK_URL"
            )
        if status in (401, 403):
            log.warning("%s: %s refused (%s)", self.label, op, detail)
            raise SinkFatal(f"{self.label}: {op} refused ({detail}): check the webhook URL and its token")
        raise DeliveryError(f"{self.label}: {op} rejected ({detail})")

    async def _wait_turn(self, op: str) -> None:
        """Sleep until this operation's bucket and the global limit allow a request, or hand a long wait back."""
        bucket = self._bucket_of.get(op, op)
        until = max(self._limits.global_until, self._reset_at.get(bucket, 0.0))
        delay = until - time.monotonic()
        if delay <= 0:
            return
        if delay > self._max_inline_wait:
            raise RetryLater(f"{self.label}: rate limited for {delay:.1f}s more", delay)
        log.debug("%s: waiting %.2fs for the rate limit before %s", self.label, delay, op)
        await asyncio.sleep(delay)

    def _note_limits(self, op: str, headers: Any) -> None:
        """Remember the bucket's reset time when Discord says no request is left in it."""
        bucket = headers.get("X-RateLimit-Bucket")
        if bucket:
            self._bucket_of[op] = bucket
        reset_after = _seconds(headers.get("X-RateLimit-Reset-After"))
        if headers.get("X-RateLimit-Remaining") == "0" and reset_after is not None:
            key = bucket or op
            self._reset_at[key] = max(self._reset_at.get(key, 0.0), time.monotonic() + reset_after)

    def _rate_limited(self, op: str, headers: Any, data: dict[str, Any]) -> None:
        """Record a 429's wait (globally when Discord says so) and raise RetryLater with it."""
        retry_after = _seconds(data.get("retry_after"))
        if retry_after is None:
            retry_after = _seconds(headers.get("Retry-After"))
        if retry_after is None:
            retry_after = _seconds(headers.get("X-RateLimit-Reset-After"))
        is_global = (
            data.get("global") is True
            or str(headers.get("X-RateLimit-Global", "")).lower() == "true"
            or headers.get("X-RateLimit-Scope") == "global"
        )
        until = time.monotonic() + (retry_after if retry_after is not None else FALLBACK_RETRY_AFTER_S)
        if is_global:
            self._limits.global_until = max(self._limits.global_until, until)
        else:
            key = self._bucket_of.get(op, op)
            self._reset_at[key] = max(self._reset_at.get(key, 0.0), until)
        scope = "global" if is_global else "webhook"
        shown = f"{retry_after:.2f}s" if retry_after is not None else "unknown"
        log.warning("%s: %s rate limited (%s), retry after %s", self.label, op, scope, shown)
        raise RetryLater(f"{self.label}: {op} rate limited ({scope}), retry after {shown}", retry_after)

    def _redact(self, text: str) -> str:
        """`text` with the webhook token replaced, for anything that might echo the URL back."""
        return text.replace(self._token, "***") if self._token else text


def discord_sinks(session: aiohttp.ClientSession, urls: Sequence[str]) -> list[DiscordSink]:
    """One sink per webhook URL ("discord:0", "discord:1" …), sharing one global rate-limit state."""
    limits = DiscordRateLimits()
    return [DiscordSink(session, url, index=i, limits=limits) for i, url in enumerate(urls)]


def redact_webhook_url(url: str) -> str:
    """The webhook URL without its host and token: "…/webhooks/123/***"."""
    path = url.strip().split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1].partition("/")[2]
    segments = [s for s in path.split("/") if s]
    if "webhooks" in segments:
        segments = segments[segments.index("webhooks") :]
    if not segments:
        return "…/***"
    return "…/" + "/".join([*segments[:-1], "***"])


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON, or not an object."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: Any) -> float | None:
    """A non-negative number of seconds from a header or JSON value, capped; None when absent or garbage."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _error_detail(status: int, data: dict[str, Any]) -> str:
    """`HTTP 400: Invalid Form Body (code 50035) {errors…}` from Discord's error object, kept short."""
    parts = [f"HTTP {status}"]
    message = data.get("message")
    if isinstance(message, str) and message:
        parts.append(f": {message[:200]}")
    if data.get("code") is not None:
        parts.append(f" (code {data['code']})")
    if data.get("errors"):
        parts.append(" " + json.dumps(data["errors"], sort_keys=True)[:300])
    return "".join(parts)
