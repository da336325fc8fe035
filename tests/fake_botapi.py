"""A small Telegram Bot API server on loopback, for driving the real python-telegram-bot client in tests.

It runs an aiohttp server in a background thread (so sync tests, async tests and subprocesses can all use
it) and answers at ``http://127.0.0.1:<port>/bot<TOKEN>/<method>``: hand ``fake.base_url`` to
``Application.builder().base_url(...)``. It keeps chats and messages like Telegram does (message ids grow
per chat, edits of unchanged text fail with "message is not modified", edits of deleted messages with
"message to edit not found"), parses HTML the way Telegram's strict parser does (unsupported tags or bare
"&" are a 400, texts over 4096 UTF-16 units after parsing are a 400), serves queued updates to getUpdates
long polling, injects programmable faults, and records every request for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

DEFAULT_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz"
BOT_ID = 123456
BOT_USERNAME = "wirewatch_test_bot"
MESSAGE_LIMIT = 4096  # UTF-16 code units after entity parsing, as Telegram counts

# Tags Telegram's HTML parse mode understands (Bot API "HTML style").
_TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler"}
    | {"blockquote", "tg-emoji"}
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_ATTR = re.compile(r"([A-Za-z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_JSON_FIELDS = frozenset(
    {"reply_parameters", "link_preview_options", "commands", "allowed_updates", "reply_markup", "entities"} | {"scope"}
)
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);")


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; the message is what Telegram would put after "can't parse"."""


@dataclass
class ParsedHtml:
    """Telegram HTML reduced to what Telegram stores: the plain text and its entities."""

    text: str
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (tag, attributes), in order


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram measures text."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(token: str) -> str:
    """Decode one HTML entity body (without & and ;) the way Telegram accepts it."""
    if token.startswith("#x") or token.startswith("#X"):
        return chr(int(token[2:], 16))
    if token.startswith("#"):
        return chr(int(token[1:]))
    if token in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[token]
    raise HtmlError(f'Unsupported HTML entity "&{token};"')


def parse_telegram_html(source: str) -> ParsedHtml:
    """Parse `source` as Telegram's HTML parse mode does, raising HtmlError where Telegram answers 400."""
    out: list[str] = []
    tags: list[tuple[str, dict[str, str]]] = []
    stack: list[str] = []
    pos = 0
    while pos < len(source):
        ch = source[pos]
        if ch == "<":
            match = _TAG.match(source, pos)
            if match is None:
                raise HtmlError(f"Unexpected start tag at byte offset {len(source[:pos].encode())}")
            closing, name, attrs, _ = match.groups()
            name = name.lower()
            if name not in _TELEGRAM_TAGS:
                kind = "end" if closing else "start"
                raise HtmlError(f'Unsupported {kind} tag "{name}" at byte offset {len(source[:pos].encode())}')
            if closing:
                if not stack or stack[-1] != name:
                    raise HtmlError(f"Unmatched end tag at byte offset {len(source[:pos].encode())}")
                stack.pop()
            else:
                attributes = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _ATTR.finditer(attrs)}
                attributes = {k: _unescape_attr(v) for k, v in attributes.items()}
                if name == "a" and not attributes.get("href"):
                    raise HtmlError("Can't find href attribute of the a tag")
                stack.append(name)
                tags.append((name, attributes))
            pos = match.end()
        elif ch == "&":
            match = _ENTITY.match(source, pos)
            if match is None:
                raise HtmlError(f"Character '&' is reserved at byte offset {len(source[:pos].encode())}")
            out.append(_decode_entity(match.group(1)))
            pos = match.end()
        else:
            out.append(ch)
            pos += 1
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return ParsedHtml("".join(out), tags)


def _unescape_attr(value: str) -> str:
    """Decode entities inside an attribute value."""
    return _ENTITY.sub(lambda m: _decode_entity(m.group(1)), value)


@dataclass
class Call:
    """One HTTP request the server received."""

    method: str  # Bot API method name ("" when the path was not /bot<token>/<method>)
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any]
    status: int = 0  # the HTTP status answered
    at: float = 0.0  # time.monotonic() when received


@dataclass
class Sent:
    """One message the bot sent (sendMessage) and, after edits, its current state."""

    chat_id: int
    message_id: int
    text: str  # the raw text as sent (HTML source when parse_mode is HTML)
    plain: str  # the text after entity parsing
    parse_mode: str | None
    reply_to: int | None
    allow_sending_without_reply: bool
    link_preview_disabled: bool
    chat_ref: str  # chat_id exactly as the client sent it ("@channel" or a number)


@dataclass
class Edit:
    """One successful editMessageText."""

    chat_id: int
    message_id: int
    text: str
    plain: str
    parse_mode: str | None


@dataclass
class Fault:
    """A programmed failure for the next `times` matching calls."""

    kind: str  # "429", "500", "502", "403", "401", "400", "slow"
    method: str | None  # None: any method except getUpdates
    times: int
    retry_after: int = 1
    delay: float = 0.0  # for "slow": seconds to wait before answering normally
    description: str = ""
    chat_id: str | None = None  # only calls addressed to this chat (as the client sent chat_id); None: any


class FakeBotAPI:
    """A loopback Bot API server: start(), hand `base_url` to python-telegram-bot, assert on what it records."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = BOT_USERNAME, max_poll_wait: float = 0.5) -> None:
        self.token = token
        self.username = username
        self.max_poll_wait = max_poll_wait  # cap on getUpdates long polling, so shutdowns stay fast
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.edits: list[Edit] = []
        self.deleted: list[tuple[int, int]] = []
        self.commands: list[dict[str, Any]] = []  # the last setMyCommands list
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], Sent] = {}
        self._chat_ids: dict[str, int] = {}  # "@name" → a stable fake numeric id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wakeup: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's base_url (the token is appended by the client)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotAPI:
        """Start serving in a background thread; returns self once the port is bound."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), daemon=True, name="fake-botapi")
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("fake Bot API server did not start")
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)
        self._loop = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        """Thread body: run the aiohttp app on its own event loop until stop()."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._wakeup = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # access_log=None: aiohttp's access log would print request paths, which contain the token.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        loop.run_until_complete(runner.setup())
        site = web.SockSite(runner, sock)
        loop.run_until_complete(site.start())
        self._runner = runner
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- programming the server -------------------------------------------------------------------

    def fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        times: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
        description: str = "",
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (None: any but getUpdates) fail with `kind`.

        Kinds: "429" (with retry_after), "500", "502", "403" (bot kicked), "401" (invalid token), "400" (with
        `description`), "slow" (answer normally after `delay` seconds). With `chat_id`, only calls addressed
        to that chat fail (e.g. one subscriber who blocked the bot).
        """
        chat = None if chat_id is None else str(chat_id)
        with self._lock:
            self._faults.append(Fault(kind, method, times, retry_after, delay, description, chat))

    def clear_faults(self) -> None:
        """Forget every programmed fault."""
        with self._lock:
            self._faults.clear()

    def enqueue_message(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        user_id: int = 1001,
        chat_type: str = "private",
        username: str = "tester",
    ) -> int:
        """Queue an incoming message (a leading /command gets its bot_command entity); returns its update_id."""
        with self._lock:
            update_id = next(self._update_ids)
            message_id = self._new_message_id(chat_id)
            chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = "Tester"
            else:
                chat["title"] = "Test group"
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": user_id, "is_bot": False, "first_name": "Tester", "username": username},
                "text": text,
            }
            command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
            if command:
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}]
            self._updates.append({"update_id": update_id, "message": message})
            # Incoming messages exist in the chat too: the bot may reply to (quote) them.
            self._messages[(chat_id, message_id)] = Sent(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                plain=text,
                parse_mode=None,
                reply_to=None,
                allow_sending_without_reply=False,
                link_preview_disabled=False,
                chat_ref=str(chat_id),
            )
        self._wake()
        return update_id

    def delete(self, chat_id: int | str, message_id: int) -> None:
        """Delete a message as a channel admin would (later edits get "message to edit not found")."""
        with self._lock:
            self._messages.pop((self._resolve_chat(chat_id), message_id), None)

    def chat_id_of(self, chat_ref: int | str) -> int:
        """The numeric id the server uses for `chat_ref` ("@name" or a number)."""
        with self._lock:
            return self._resolve_chat(chat_ref)

    def current_text(self, chat_id: int | str, message_id: int) -> str | None:
        """The message's current raw text, or None when it does not exist (never sent, or deleted)."""
        with self._lock:
            message = self._messages.get((self._resolve_chat(chat_id), message_id))
            return message.text if message else None

    # -- assertions ------------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        """Every recorded call of one Bot API method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_ref: int | str) -> list[Sent]:
        """Every message sent to one chat, in order."""
        with self._lock:
            chat = self._resolve_chat(chat_ref)
            return [s for s in self.sent if s.chat_id == chat]

    def token_leaks(self, token: str | None = None) -> list[str]:
        """Where the token appeared outside the URL path's /bot<token>/ prefix (empty list: nowhere)."""
        secret = token or self.token
        leaks = []
        with self._lock:
            calls = list(self.calls)
        for call in calls:
            prefix = f"/bot{secret}/"
            rest = call.path[len(prefix) :] if call.path.startswith(prefix) else call.path
            if secret in rest:
                leaks.append(f"{call.method}: path")
            if secret in call.query:
                leaks.append(f"{call.method}: query string")
            for name, value in call.headers.items():
                if secret in name or secret in value:
                    leaks.append(f"{call.method}: header {name}")
            if secret.encode() in call.body:
                leaks.append(f"{call.method}: body")
        return leaks

    def assert_token_only_in_path(self, token: str | None = None) -> None:
        """Fail when the token was sent anywhere but the URL path (headers, query, body)."""
        leaks = self.token_leaks(token)
        assert not leaks, f"token sent outside the URL path: {leaks}"

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until predicate() holds (checked every 10 ms); AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout:.1f} s")
            time.sleep(0.01)

    async def until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Async wait_for: await until predicate() holds, without blocking the test's event loop."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {within:.1f} s")
            await asyncio.sleep(0.01)

    # -- internals --------------------------------------------------------------------------------

    def _wake(self) -> None:
        """Wake long-polling getUpdates handlers (callable from any thread)."""
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None:
            loop.call_soon_threadsafe(wakeup.set)

    def _resolve_chat(self, chat_ref: int | str) -> int:
        """Map "@name" to a stable negative id (as channels have); numbers stay numbers. Lock held."""
        if isinstance(chat_ref, int):
            return chat_ref
        ref = str(chat_ref).strip()
        if ref.startswith("@"):
            return self._chat_ids.setdefault(ref.lower(), -1001000000000 - len(self._chat_ids) - 1)
        return int(ref)

    def _new_message_id(self, chat_id: int) -> int:
        """Next message id in a chat (Telegram numbers messages per chat). Lock held."""
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _take_fault(self, method: str, chat_id: object = None) -> Fault | None:
        """Consume one programmed fault matching `method` (and the call's chat, for chat faults), if any."""
        with self._lock:
            for fault in self._faults:
                if fault.chat_id is not None and fault.chat_id != str(chat_id):
                    continue
                if fault.method == method or (fault.method is None and method != "getUpdates"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        """Route one HTTP request: check the token, apply faults, dispatch to the method."""
        body = await request.read()
        params = _parse_params(request.headers.get("Content-Type", ""), body, request.query_string)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        call = Call(
            method=match.group(2) if match else "",
            path=request.path,
            query=request.query_string,
            headers=dict(request.headers),
            body=body,
            params=params,
            at=time.monotonic(),
        )
        with self._lock:
            self.calls.append(call)
        response = await self._answer(call, match.group(1) if match else None)
        call.status = response.status
        return response

    async def _answer(self, call: Call, token: str | None) -> web.Response:
        """Build the response for one call."""
        if token is None:
            return _error(404, "Not Found")
        if token != self.token:
            return _error(401, "Unauthorized")
        fault = self._take_fault(call.method, call.params.get("chat_id"))
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            else:
                return _fault_response(fault)
        handler = getattr(self, f"_m_{call.method}", None)
        if handler is None:
            return _error(404, "Not Found")
        try:
            result = await handler(call.params)
        except _ApiError as exc:
            return _error(exc.code, exc.description)
        return web.json_response({"ok": True, "result": result})

    # -- Bot API methods -------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Wirewatch Test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: commands must be a list")
        with self._lock:
            self.commands = commands
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if offset:
                    # As Telegram does: asking from `offset` confirms every earlier update.
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            assert self._wakeup is not None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_ref = str(params.get("chat_id", ""))
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        plain = _parsed_text(text, parse_mode)
        reply = params.get("reply_parameters") or {}
        reply_to = int(reply["message_id"]) if reply.get("message_id") else None
        allow = bool(reply.get("allow_sending_without_reply"))
        preview = params.get("link_preview_options") or {}
        with self._lock:
            chat_id = self._resolve_chat(chat_ref)
            if reply_to is not None and (chat_id, reply_to) not in self._messages and not allow:
                raise _ApiError(400, "Bad Request: message to be replied not found")
            message_id = self._new_message_id(chat_id)
            sent = Sent(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                plain=plain,
                parse_mode=parse_mode,
                reply_to=reply_to,
                allow_sending_without_reply=allow,
                link_preview_disabled=bool(preview.get("is_disabled")) or bool(params.get("disable_web_page_preview")),
                chat_ref=chat_ref,
            )
            self.sent.append(sent)
            self._messages[(chat_id, message_id)] = dataclasses.replace(sent)
            return self._message_json(chat_id, chat_ref, message_id, plain)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_ref = str(params.get("chat_id", ""))
        message_id = int(params.get("message_id") or 0)
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        plain = _parsed_text(text, parse_mode)
        with self._lock:
            chat_id = self._resolve_chat(chat_ref)
            current = self._messages.get((chat_id, message_id))
            if current is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            if current.text == text and current.parse_mode == parse_mode:
                raise _ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup"
                    " are exactly the same as a current content and reply markup of the message",
                )
            current.text, current.plain, current.parse_mode = text, plain, parse_mode
            self.edits.append(Edit(chat_id, message_id, text, plain, parse_mode))
            result = self._message_json(chat_id, chat_ref, message_id, plain)
            result["edit_date"] = int(time.time())
            return result

    async def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        message_id = int(params.get("message_id") or 0)
        with self._lock:
            chat_id = self._resolve_chat(str(params.get("chat_id", "")))
            if self._messages.pop((chat_id, message_id), None) is None:
                raise _ApiError(400, "Bad Request: message to delete not found")
            self.deleted.append((chat_id, message_id))
        return True

    def _message_json(self, chat_id: int, chat_ref: str, message_id: int, plain: str) -> dict[str, Any]:
        """A Message object as the Bot API returns it for a message the bot sent."""
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "channel"}
        if chat_id > 0:
            chat["first_name"] = "Tester"
        else:
            chat["title"] = "Test channel"
            if chat_ref.startswith("@"):
                chat["username"] = chat_ref[1:]
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Wirewatch Test", "username": self.username},
            "text": plain,
        }


class _ApiError(Exception):
    """A Bot API error answer (HTTP status = error_code, as Telegram does)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _parsed_text(text: str, parse_mode: Any) -> str:
    """Validate a message text as Telegram does and return it after entity parsing."""
    if parse_mode is not None and str(parse_mode).upper() == "HTML":
        try:
            plain = parse_telegram_html(text).text
        except HtmlError as exc:
            raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    else:
        plain = text
    if not plain.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if utf16_len(plain) > MESSAGE_LIMIT:
        raise _ApiError(400, "Bad Request: message is too long")
    return plain


def _parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Read Bot API parameters from a form, JSON or query string; JSON-valued fields are decoded."""
    params: dict[str, Any] = {}
    if "application/json" in content_type and body:
        params.update(json.loads(body))
    else:
        params.update(dict(parse_qsl(query)))
        if body and "multipart" not in content_type:
            params.update(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    # python-telegram-bot sends objects and lists JSON-encoded inside form fields (texts stay strings).
    for key, value in list(params.items()):
        if key in _JSON_FIELDS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    """An error answer shaped like Telegram's."""
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return web.json_response(payload, status=code)


def _fault_response(fault: Fault) -> web.Response:
    """The answer for one programmed fault."""
    if fault.kind == "429":
        return _error(
            429,
            f"Too Many Requests: retry after {fault.retry_after}",
            {"retry_after": fault.retry_after},
        )
    if fault.kind == "500":
        return _error(500, "Internal Server Error")
    if fault.kind == "502":
        return _error(502, "Bad Gateway")
    if fault.kind == "403":
        return _error(403, fault.description or "Forbidden: bot was kicked from the channel chat")
    if fault.kind == "401":
        return _error(401, "Unauthorized")
    if fault.kind == "400":
        return _error(400, fault.description or "Bad Request: chat not found")
    raise ValueError(f"unknown fault kind {fault.kind!r}")
