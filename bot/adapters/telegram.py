"""Telegram adapter: the alert sink for one chat, the Application factory, and token-safe logging.

Every python-telegram-bot error becomes one of our DeliveryError subclasses (cause chained), so the outbox
decides what to do next without knowing Telegram: retry later, stop editing a deleted message, or park the
sink because the bot was removed or its token revoked.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application
from telegram.request import HTTPXRequest

from bot.core.render_telegram import render_telegram
from bot.errors import DeliveryError, MessageGone, RetryLater, SinkFatal
from bot.models import Event
from bot.sinks import CHANNEL_SINK, dm_sink

# HTTP timeouts (seconds) for Bot API calls. Telegram answers sendMessage in well under a second; 20 s of
# read time covers a slow mobile uplink or a busy local Bot API server without hanging a delivery forever.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 5.0
# getUpdates long-polls for up to its own `timeout`; PTB adds that to the read timeout by itself.
GET_UPDATES_READ_TIMEOUT = 10.0
# 429 retries done inside AIORateLimiter (which also pauses every other request meanwhile). Past this, the
# RetryAfter reaches the sink and becomes RetryLater(retry_after) for the outbox to honour.
RATE_LIMIT_RETRIES = 2

# Bad Request descriptions that mean the chat itself is unusable, not this one message: park the sink.
_FATAL_BAD_REQUESTS = (
    "chat not found",
    "need administrator rights",
    "not enough rights",
    "have no rights to send",
    "chat_write_forbidden",
    "bot is not a member",
)

_LOGGER = logging.getLogger(__name__)


def sink_name_for(chat_id: int | str) -> str:
    """The outbox sink id for a chat: "telegram:channel" for @names and negative ids, else "telegram:dm:<id>"."""
    ref = str(chat_id).strip()
    if ref.startswith("@") or ref.startswith("-"):
        return CHANNEL_SINK
    return dm_sink(ref)


class TelegramSink:
    """Posts and edits one alert per event in one Telegram chat (the channel or a subscriber's private chat)."""

    def __init__(self, bot: Bot, chat_id: int | str, *, name: str | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.name = name or sink_name_for(chat_id)

    def render(self, event: Event) -> str:
        """The HTML this sink sends for `event`."""
        return render_telegram(event)

    async def post(self, event: Event, reply_to: str | None) -> str:
        """Send the alert (threaded under `reply_to`'s message when given); return the new message id.

        A timeout is reported as RetryLater although Telegram may have posted the message: the Bot API has
        no idempotency key, so the outbox accepts that rare duplicate rather than losing the alert.
        """
        reply = None
        if reply_to is not None:
            try:
                # allow_sending_without_reply: a parent deleted by an admin must not block the follow-up.
                reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
            except ValueError:
                _LOGGER.warning("%s: ignoring a reply_to that is not a message id: %r", self.name, reply_to)
        message = await self._call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id=self.chat_id,
                text=self.render(event),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=reply,
            ),
        )
        return str(message.message_id)

    async def edit(self, message_id: str, event: Event) -> None:
        """Replace the alert `message_id` with the current state of `event`; "not modified" is success."""
        try:
            target = int(message_id)
        except ValueError as exc:
            raise MessageGone(f"{self.name}: {message_id!r} is not a Telegram message id") from exc
        try:
            await self._call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text=self.render(event),
                    chat_id=self.chat_id,
                    message_id=target,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                ),
            )
        except DeliveryError as exc:
            description = str(exc).lower()
            if "message is not modified" in description:
                return  # the alert already shows this revision: nothing to do
            if "message to edit not found" in description or "message can't be edited" in description:
                raise MessageGone(f"{self.name}: message {message_id} is gone ({exc})") from exc.__cause__
            raise

    async def _call(self, method: str, send: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Bot API call, translating python-telegram-bot errors into our DeliveryError family."""
        try:
            return await send()
        except RetryAfter as exc:
            raise RetryLater(f"{self.name}: {method}: flood control", retry_after_seconds(exc)) from exc
        except (Forbidden, InvalidToken) as exc:
            raise SinkFatal(f"{self.name}: {method}: {self._text(exc)}") from exc
        except ChatMigrated as exc:
            raise SinkFatal(f"{self.name}: {method}: the group moved to chat id {exc.new_chat_id}") from exc
        except BadRequest as exc:
            text = self._text(exc)
            if any(marker in text.lower() for marker in _FATAL_BAD_REQUESTS):
                raise SinkFatal(f"{self.name}: {method}: {text}") from exc
            raise DeliveryError(f"{self.name}: {method}: {text}") from exc
        except (TimedOut, NetworkError) as exc:  # includes 5xx answers, which PTB reports as NetworkError
            raise RetryLater(f"{self.name}: {method}: {self._text(exc)}") from exc
        except TelegramError as exc:
            raise DeliveryError(f"{self.name}: {method}: {self._text(exc)}") from exc

    def _text(self, exc: TelegramError) -> str:
        """The error's message with the token removed (a transport error could quote a URL)."""
        return redact(exc.message, self.bot.token)


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds, whichever type this PTB version returns (int now, timedelta later)."""
    with warnings.catch_warnings():
        # PTB 22.2+ warns on reading retry_after as an int; either type is handled here.
        warnings.simplefilter("ignore")
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def build_application(
    token: str,
    base_url: str,
    *,
    max_retries: int = RATE_LIMIT_RETRIES,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> Application:
    """Build the python-telegram-bot Application: Bot API at `base_url`, rate limited, quiet HTTP logs.

    `base_url` is used as given (the token is appended by python-telegram-bot), so a loopback Bot API
    server works. The AIORateLimiter keeps Telegram's limits (30 msg/s overall, 20 msg/min per channel).
    """
    quiet_http_loggers()
    # Opt in to PTB's future time type now: RetryAfter.retry_after becomes a timedelta (retry_after_seconds
    # reads either) instead of an int that warns PTBDeprecationWarning on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    request = HTTPXRequest(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        write_timeout=WRITE_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
    )
    updates_request = HTTPXRequest(
        connection_pool_size=1,
        connect_timeout=connect_timeout,
        read_timeout=GET_UPDATES_READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
    )
    return (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .request(request)
        .get_updates_request(updates_request)
        .rate_limiter(AIORateLimiter(max_retries=max_retries))
        .build()
    )


def quiet_http_loggers() -> None:
    """Keep Bot API URLs (which contain the token) out of the logs.

    httpx logs every request URL at INFO and python-telegram-bot logs its base URL at DEBUG, so both are
    raised above those levels whatever LOG_LEVEL says; their warnings and errors still come through.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)


def redact(text: str, token: str) -> str:
    """Replace the token (plain or URL-encoded) in `text` with "[token]"."""
    if not token:
        return text
    for form in {token, quote(token, safe="")}:
        text = text.replace(form, "[token]")
    return text


class TokenRedactionFilter(logging.Filter):
    """A logging filter that removes the bot token from a record's message, arguments and traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place when it mentions the token; never drops a record."""
        if not self.token:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: redact the raw parts
            message = f"{record.msg} {record.args}"
        if self.token in message or quote(self.token, safe="") in message:
            record.msg = redact(message, self.token)
            record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so the handler's Formatter uses the redacted copy.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.token)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.token)
        return True


def install_token_redaction(token: str, logger: logging.Logger | None = None) -> TokenRedactionFilter:
    """Add a TokenRedactionFilter to every handler of `logger` (default: the root logger); return it.

    Call it after logging is configured; handlers added later need `handler.addFilter(returned_filter)`.
    """
    target = logger or logging.getLogger()
    redaction = TokenRedactionFilter(token)
    for handler in target.handlers:
        if not any(isinstance(f, TokenRedactionFilter) and f.token == token for f in handler.filters):
            handler.addFilter(redaction)
    return redaction
