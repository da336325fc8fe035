"""A loopback server that speaks Discord's webhook API, for tests of the Discord sink (and end-to-end tests).

Use it from async tests (`async with FakeDiscord() as fake`) or from sync code in a background thread
(`with FakeDiscord().in_thread() as fake`). It executes, fetches and edits webhook messages, answers 404
for unknown webhooks and messages and 401 for a wrong token, rejects payloads over Discord's limits with
400, sends rate-limit headers on every webhook response, and can be told to answer the next requests with
a 429, a 500 or a slow response. Every request is recorded in `requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAKE_WEBHOOK_ID = "123456789012345678"
FAKE_TOKEN = "s3cr3t-T0ken_abcdef"  # a made-up webhook token

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Discord's documented limits, checked on every create and edit so a sink that breaks one gets a 400.
LIMITS = {
    "content": 2000,
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field.name": 256,
    "field.value": 1024,
    "footer.text": 2048,
    "author.name": 256,
    "embeds": 10,
    "total": 6000,
}


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class Scripted:
    """A canned answer for one of the next requests (optionally only for one HTTP method)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None


@dataclass
class Webhook:
    """One webhook the fake knows: its token, and the guild and channel it posts into."""

    id: str
    token: str
    guild_id: str
    channel_id: str
    name: str = "Wirewatch"
    window_start: float = 0.0
    used: int = 0


class FakeDiscord:
    """A loopback Discord webhook API with programmable failures; records every request."""

    def __init__(
        self,
        *,
        guild_id: str = "900000000000000001",
        channel_id: str = "900000000000000002",
        rate_limit: int = 1000,
        rate_window_s: float = 2.0,
    ) -> None:
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.rate_limit = rate_limit  # requests per window per webhook before a real 429
        self.rate_window_s = rate_window_s
        self.delay_s = 0.0  # added before every answer (slow server)
        self.webhooks: dict[str, Webhook] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._script: list[Scripted] = []
        self._ids = itertools.count(1_200_000_000_000_000_001)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- life cycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; `base_url` is set afterwards."""
        app = web.Application(middlewares=[self._middleware])
        hook = "/api/webhooks/{webhook_id}/{token}"
        app.router.add_post(hook, self._execute)
        app.router.add_get(hook, self._get_webhook)
        app.router.add_get(hook + "/messages/{message_id}", self._get_message)
        app.router.add_patch(hook + "/messages/{message_id}", self._edit_message)
        app.router.add_delete(hook + "/messages/{message_id}", self._delete_message)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)  # its lines hold tokens
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[FakeDiscord]:
        """Run the server on its own event loop in a background thread (for sync tests and other loops)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-discord", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    # --- programming the fake ---------------------------------------------------------------------------

    def add_webhook(self, webhook_id: str = FAKE_WEBHOOK_ID, token: str = FAKE_TOKEN, **kw: str) -> str:
        """Register a webhook and return its URL (as Discord's "Copy Webhook URL" would give it)."""
        self.webhooks[webhook_id] = Webhook(
            webhook_id,
            token,
            kw.get("guild_id", self.guild_id),
            kw.get("channel_id", self.channel_id),
        )
        return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"

    def delete_webhook(self, webhook_id: str) -> None:
        """Forget a webhook, as when an admin deletes it: its requests get 404 Unknown Webhook."""
        self.webhooks.pop(webhook_id, None)

    def delete_message(self, message_id: str) -> None:
        """Forget a message, as when a moderator deletes it: editing it gets 404 Unknown Message."""
        self.messages.pop(message_id, None)

    def fail_next(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` requests (of `method`, if given) with this status, body and headers."""
        if body is None:
            body = {"message": f"scripted {status}", "code": 0}
        for _ in range(times):
            self._script.append(Scripted(status, body, dict(headers or {}), method))

    def rate_limit_next(
        self, retry_after: float, *, is_global: bool = False, times: int = 1, method: str | None = None
    ) -> None:
        """Answer the next requests with a 429 the way Discord does: JSON body plus headers."""
        headers = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),  # Discord rounds the header up to seconds
            "X-RateLimit-Scope": "global" if is_global else "shared",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": f"{retry_after:.3f}"})
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        self.fail_next(429, body, headers=headers, times=times, method=method)

    # --- assertions helpers -----------------------------------------------------------------------------

    def requests_to(self, method: str) -> list[RecordedRequest]:
        """The recorded requests with this HTTP method, in arrival order."""
        return [r for r in self.requests if r.method == method]

    # --- the server -------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, delay, play the script, then route; rate-limit headers on every webhook answer."""
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.query), body, dict(request.headers), time.monotonic()
            )
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        for i, scripted in enumerate(self._script):
            if scripted.method in (None, request.method):
                del self._script[i]
                return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        hook = self.webhooks.get(request.match_info.get("webhook_id", ""))
        if hook is None:
            return _error(404, "Unknown Webhook", 10015)
        if request.match_info.get("token") != hook.token:
            return _error(401, "Invalid Webhook Token", 50027)
        now = time.monotonic()
        if now - hook.window_start >= self.rate_window_s:
            hook.window_start, hook.used = now, 0
        hook.used += 1
        reset_after = max(self.rate_window_s - (now - hook.window_start), 0.0)
        limit_headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - hook.used, 0)),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{hook.id}",
        }
        if hook.used > self.rate_limit:
            body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
            limit_headers.update({"Retry-After": str(int(reset_after) + 1), "X-RateLimit-Scope": "shared"})
            return web.json_response(body, status=429, headers=limit_headers)
        response = await handler(request)
        response.headers.update(limit_headers)
        return response

    async def _execute(self, request: web.Request) -> web.StreamResponse:
        """POST /webhooks/{id}/{token}: create a message; return it only with ?wait=true."""
        hook = self.webhooks[request.match_info["webhook_id"]]
        payload = await request.json()
        problem = _check_payload(payload, creating=True)
        if problem:
            return _error(400, "Invalid Form Body", 50035, {"payload": problem})
        message_id = str(next(self._ids))
        message = {
            "id": message_id,
            "type": 0,
            "channel_id": request.query.get("thread_id", hook.channel_id),
            "webhook_id": hook.id,
            "author": {"id": hook.id, "username": hook.name, "bot": True},
            "content": payload.get("content", ""),
            "embeds": payload.get("embeds", []),
            "allowed_mentions": payload.get("allowed_mentions"),
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": None,
            "flags": 0,
        }
        self.messages[message_id] = message
        if request.query.get("wait", "").lower() != "true":
            return web.Response(status=204)
        return web.json_response(message)

    async def _get_webhook(self, request: web.Request) -> web.StreamResponse:
        """GET /webhooks/{id}/{token}: the webhook object (with its guild and channel)."""
        hook = self.webhooks[request.match_info["webhook_id"]]
        return web.json_response(
            {
                "id": hook.id,
                "type": 1,
                "guild_id": hook.guild_id,
                "channel_id": hook.channel_id,
                "name": hook.name,
                "token": hook.token,
            }
        )

    def _own_message(self, request: web.Request) -> dict[str, Any] | None:
        """The message in the path if it exists and was posted by this webhook."""
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message["webhook_id"] != request.match_info["webhook_id"]:
            return None
        return message

    async def _get_message(self, request: web.Request) -> web.StreamResponse:
        """GET …/messages/{id}."""
        message = self._own_message(request)
        return web.json_response(message) if message else _error(404, "Unknown Message", 10008)

    async def _edit_message(self, request: web.Request) -> web.StreamResponse:
        """PATCH …/messages/{id}: fields present replace the message's; omitted fields stay as they are."""
        message = self._own_message(request)
        if message is None:
            return _error(404, "Unknown Message", 10008)
        payload = await request.json()
        problem = _check_payload(payload, creating=False)
        if problem:
            return _error(400, "Invalid Form Body", 50035, {"payload": problem})
        for key in ("content", "embeds", "allowed_mentions"):
            if key in payload:
                message[key] = payload[key]
        message["edited_timestamp"] = "2026-01-01T00:00:01.000000+00:00"
        return web.json_response(message)

    async def _delete_message(self, request: web.Request) -> web.StreamResponse:
        """DELETE …/messages/{id}."""
        if self._own_message(request) is None:
            return _error(404, "Unknown Message", 10008)
        del self.messages[request.match_info["message_id"]]
        return web.Response(status=204)


def _error(status: int, message: str, code: int, errors: Any = None) -> web.Response:
    """A Discord-shaped JSON error."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return web.json_response(body, status=status)


def embed_problems(payload: Any, *, creating: bool = True) -> list[str]:
    """Every way `payload` breaks Discord's message and embed limits (empty when it is fine)."""
    if not isinstance(payload, dict):
        return ["payload is not a JSON object"]
    problems = []
    content = payload.get("content")
    embeds = payload.get("embeds")
    if creating and not content and not embeds:
        problems.append("a message needs content or embeds")
    if content is not None and len(content) > LIMITS["content"]:
        problems.append(f"content is {len(content)} > {LIMITS['content']}")
    if embeds is None:
        return problems
    if len(embeds) > LIMITS["embeds"]:
        problems.append(f"{len(embeds)} embeds > {LIMITS['embeds']}")
    total = 0
    for n, embed in enumerate(embeds):
        sizes = {
            "title": len(embed.get("title", "")),
            "description": len(embed.get("description", "")),
            "footer.text": len(embed.get("footer", {}).get("text", "")),
            "author.name": len(embed.get("author", {}).get("name", "")),
        }
        fields = embed.get("fields", [])
        if len(fields) > LIMITS["fields"]:
            problems.append(f"embed {n}: {len(fields)} fields > {LIMITS['fields']}")
        for f in fields:
            if not f.get("name") or not f.get("value"):
                problems.append(f"embed {n}: a field needs a name and a value")
            for part in ("name", "value"):
                size = len(f.get(part, ""))
                if size > LIMITS[f"field.{part}"]:
                    problems.append(f"embed {n}: field {part} is {size} > {LIMITS[f'field.{part}']}")
                total += size
        for key, size in sizes.items():
            if size > LIMITS[key]:
                problems.append(f"embed {n}: {key} is {size} > {LIMITS[key]}")
            total += size
        if "description" in embed and not embed["description"]:
            problems.append(f"embed {n}: description is empty")
        url = embed.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            problems.append(f"embed {n}: url is not http(s)")
    if total > LIMITS["total"]:
        problems.append(f"embeds total {total} > {LIMITS['total']}")
    return problems


def _check_payload(payload: Any, *, creating: bool) -> str:
    """The problems with a create or edit payload as one string ("" when fine)."""
    return "; ".join(embed_problems(payload, creating=creating))
