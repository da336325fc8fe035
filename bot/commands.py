"""Chat commands: /start, /help, /latest, /sources, /subscribe, /unsubscribe, /status.

Commands only read the store (and add or remove subscribers); they never trigger polling. Replies are
Telegram HTML with every piece of feed text escaped. A per-user token bucket keeps one chatty user from
flooding the bot; it applies to command replies only, never to alerts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, ContextTypes, MessageHandler, filters

from bot.core.render_telegram import clean_text, esc, format_utc, safe_href, shorten, utf16_len
from bot.models import Event, Feed, FeedHealth
from bot.sinks import CHANNEL_SINK

log = logging.getLogger(__name__)


LATEST_DEFAULT = 5
LATEST_MAX = 20
REPLY_BUDGET = 3900  # per reply message, in UTF-16 units of the HTML source (≥ the parsed length)
MAX_REPLY_PARTS = 10  # /sources ID on a huge event: at most this many messages, then "… and N more"
LIST_HEADLINE_MAX = 120  # headlines in /latest and /sources ID lists
EVENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,80}")

# Per-user command rate limit: a burst of COMMAND_BURST commands, refilled at COMMAND_BURST per
# COMMAND_WINDOW_S seconds. A person typing commands by hand stays well inside it; a script does not.
COMMAND_BURST = 5
COMMAND_WINDOW_S = 10.0
MAX_TRACKED_USERS = 10_000  # buckets kept in memory; full, idle ones are dropped past this

BOT_COMMANDS = [
    BotCommand("latest", "The most recent events: /latest [n]"),
    BotCommand("sources", "Watched feeds and their health; /sources ID lists one event's outlets"),
    BotCommand("subscribe", "Receive the alerts in this private chat"),
    BotCommand("unsubscribe", "Stop receiving the alerts here"),
    BotCommand("help", "What this bot watches and how to use it"),
]


class CommandStore(Protocol):
    """The part of bot.adapters.store.Store the commands use."""

    def latest_events(self, limit: int) -> list[Event]:
        """The `limit` most recent events, newest first."""
        ...

    def event(self, event_id: str) -> Event | None:
        """One event, or None."""
        ...

    def feed_health(self) -> list[FeedHealth]:
        """Every known feed's health."""
        ...

    def add_subscriber(self, chat_id: int, now: datetime) -> bool:
        """Subscribe a private chat; False when it already was."""
        ...

    def remove_subscriber(self, chat_id: int) -> bool:
        """Unsubscribe a chat; False when it was not subscribed."""
        ...

    def subscribers(self) -> list[int]:
        """Every subscribed chat id."""
        ...

    def message_id(self, sink: str, event_id: str) -> str | None:
        """The message id of an event's alert on a sink, once posted."""
        ...

    def outbox_depth(self) -> int:
        """How many outbox rows wait to be sent."""
        ...

    def last_cycle(self) -> Any:
        """The most recent poll cycle (a CycleRecord), or None."""
        ...


def format_age(delta: timedelta) -> str:
    """A short age: "just now", "12 min ago", "3 h ago", "2 d ago"."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def format_duration(delta: timedelta) -> str:
    """A short duration: "5 min", "3 h 12 min", "2 d 3 h"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def public_channel_name(channel: str | None) -> str | None:
    """The channel's public username (without @) when TELEGRAM_CHANNEL is "@name", else None."""
    if channel and channel.strip().startswith("@") and len(channel.strip()) > 1:
        return channel.strip()[1:]
    return None


def split_reply(lines: Sequence[str], budget: int = REPLY_BUDGET, max_parts: int = MAX_REPLY_PARTS) -> list[str]:
    """Pack lines into messages of at most `budget` UTF-16 units; past `max_parts`, say how many were left."""
    parts: list[list[str]] = [[]]
    size = 0
    for index, line in enumerate(lines):
        cost = utf16_len(line) + 1
        if parts[-1] and size + cost > budget:
            if len(parts) == max_parts:
                parts[-1].append(f"… and {len(lines) - index} more lines")
                break
            parts.append([])
            size = 0
        parts[-1].append(line)
        size += cost
    return ["\n".join(part) for part in parts if part]


@dataclass
class _Bucket:
    """One user's token bucket."""

    tokens: float
    updated: datetime
    warned: bool = False


class CommandLimiter:
    """Per-user token bucket for commands: `burst` at once, refilled at `burst` per `window_s` seconds."""

    def __init__(self, burst: int = COMMAND_BURST, window_s: float = COMMAND_WINDOW_S) -> None:
        self.burst = burst
        self.rate = burst / window_s
        self._buckets: dict[int, _Bucket] = {}

    def check(self, user_id: int, now: datetime) -> str:
        """ "allow", "warn" (first refusal: say slow down once) or "drop" (later refusals: stay silent)."""
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED_USERS:
                self._prune(now)
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        elapsed = max((now - bucket.updated).total_seconds(), 0.0)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return "allow"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"

    def _prune(self, now: datetime) -> None:
        """Forget users whose bucket has refilled completely (they are not flooding)."""
        full_after = self.burst / self.rate
        self._buckets = {uid: b for uid, b in self._buckets.items() if (now - b.updated).total_seconds() < full_after}


class Commands:
    """The chat command handlers, with their dependencies injected."""

    def __init__(
        self,
        *,
        store: CommandStore,
        feeds: Sequence[Feed],
        admin_ids: Collection[int],
        channel: str | None,
        started_at: datetime,
        clock: Callable[[], datetime],
        topic: str,
        limiter: CommandLimiter | None = None,
    ) -> None:
        self.store = store
        self.feeds = list(feeds)
        self.admin_ids = frozenset(int(i) for i in admin_ids)
        self.channel = channel or ""
        self.started_at = started_at
        self.clock = clock
        self.topic = topic
        self.limiter = limiter or CommandLimiter()

    # -- wiring -----------------------------------------------------------------------------------

    def register(self, application: Application) -> None:
        """Add the command handlers (and the per-user rate limit in front of them) to `application`."""
        # Group -1 runs before the handlers: a flooding user's update stops there.
        application.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, self.throttle), -1)
        only_new = filters.UpdateType.MESSAGE  # an edited old command must not answer again
        for name, callback in (
            ("start", self.start),
            ("help", self.help),
            ("latest", self.latest),
            ("sources", self.sources),
            ("subscribe", self.subscribe),
            ("unsubscribe", self.unsubscribe),
            ("status", self.status),
        ):
            application.add_handler(CommandHandler(name, callback, filters=only_new))
        # Registered last in the same group, so it only sees commands no CommandHandler took.
        application.add_handler(MessageHandler(filters.COMMAND & only_new, self.unknown))

    async def attach(self, application: Application) -> None:
        """Register the handlers and publish the command list (setMyCommands); a failure there is logged."""
        self.register(application)
        try:
            await application.bot.set_my_commands(BOT_COMMANDS)
        except TelegramError as exc:
            log.warning("setMyCommands failed (the command menu may be stale): %s", exc.message)

    # -- handlers ---------------------------------------------------------------------------------

    async def throttle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Per-user rate limit: one "slow down" for the first excess command, then silence until refilled."""
        user = update.effective_user
        message = update.effective_message
        if user is None or message is None or not message.text:
            return
        target = message.text.split(maxsplit=1)[0].partition("@")[2]
        if target and target.lower() != (context.bot.username or "").lower():
            return  # another bot's command: not ours to count or answer
        verdict = self.limiter.check(user.id, self.clock())
        if verdict == "allow":
            return
        if verdict == "warn":
            await self._reply(update, "Slow down, please: a few commands every 10 seconds at most.")
        raise ApplicationHandlerStop

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet the user and explain the bot; "/start subscribe" (a deep link) also subscribes."""
        if context.args and context.args[0].lower() == "subscribe":
            await self.subscribe(update, context)
            return
        await self.help(update, context)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say what the bot watches and list the commands."""
        await self._guarded(update, self._help_text)

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the n most recent events (default 5, at most 20)."""
        args = context.args or []
        count = LATEST_DEFAULT
        if args:
            if len(args) > 1 or not re.fullmatch(r"\d{1,6}", args[0]) or int(args[0]) < 1:
                await self._reply(
                    update, f"Usage: /latest [n], where n is a number from 1 to {LATEST_MAX}. Example: /latest 10"
                )
                return
            count = min(int(args[0]), LATEST_MAX)
        await self._guarded(update, lambda: self._latest_text(count))

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the watched feeds with their health, or with an event id every outlet of that event."""
        args = context.args or []
        if not args:
            await self._guarded(update, self._feeds_lines)
            return
        if len(args) > 1 or not EVENT_ID_PATTERN.fullmatch(args[0]):
            await self._reply(
                update, "Usage: /sources for the watched feeds, or /sources ID for one event (ids are in /latest)."
            )
            return
        await self._guarded(update, lambda: self._event_sources_lines(args[0]))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe this private chat to the alerts."""
        chat = update.effective_chat
        if chat is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self._reply(update, self._private_only("/subscribe", context, deep_link="subscribe"))
            return

        # Without a channel the private chats are where alerts go: no "also".
        also = " also" if self.channel else ""

        def run() -> str:
            if self.store.add_subscriber(chat.id, self.clock()):
                return f"Subscribed: each new alert will{also} come here. /unsubscribe stops them."
            return "You are already subscribed. /unsubscribe stops the alerts."

        await self._guarded(update, run)

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe this private chat from the alerts."""
        chat = update.effective_chat
        if chat is None:
            return
        if chat.type != ChatType.PRIVATE:
            await self._reply(update, self._private_only("/unsubscribe", context))
            return

        def run() -> str:
            if self.store.remove_subscriber(chat.id):
                return "Unsubscribed: no more alerts here. /subscribe brings them back."
            return "You were not subscribed. /subscribe starts the alerts here."

        await self._guarded(update, run)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show uptime, the last poll cycle, failing feeds and the outbox depth (admins, private chat only)."""
        user = update.effective_user
        if user is None or user.id not in self.admin_ids:
            await self._reply(update, "Sorry, /status is only for the bot's admins. /help lists what you can use.")
            return
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE:
            # Admin data stays out of groups, where everyone can read the answer.
            await self._reply(update, "Ask /status in a private chat with me.")
            return
        await self._guarded(update, self._status_text)

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer an unknown command (in groups, only when it is addressed to this bot)."""
        message = update.effective_message
        chat = update.effective_chat
        if message is None or not message.text or chat is None:
            return
        word = message.text.split()[0]
        command, _, target = word.partition("@")
        if chat.type != ChatType.PRIVATE:
            username = context.bot.username or ""
            if not target or target.lower() != username.lower():
                return  # another bot's command, or not meant for us: stay out of the group conversation
        shown = shorten(clean_text(command), 40)
        await self._reply(update, f"I don't know {esc(shown)}. Try /help for the list of commands.")

    # -- replies ----------------------------------------------------------------------------------

    def _help_text(self) -> str:
        """The /start and /help text."""
        name = public_channel_name(self.channel)
        if not self.channel:
            where = "the private chat of everyone who uses /subscribe"
        elif name:
            where = f'the channel <a href="https://t.me/{esc(name)}">@{esc(name)}</a>'
        else:
            where = "the channel"
        return "\n".join(
            [
                f"<b>Wirewatch</b> watches {len(self.feeds)} news feeds for <b>{esc(self.topic)}</b>.",
                f"It posts one alert per event in {where} and edits it as more outlets report the same "
                "story; follow-ups are posted as replies.",
                "",
                "<b>Commands</b>",
                f"/latest [n] — the n most recent events (default {LATEST_DEFAULT}, at most {LATEST_MAX})",
                "/sources — the watched feeds and whether they are working",
                "/sources ID — every outlet and link for one event (ids are in /latest)",
                "/subscribe — receive the alerts in this private chat",
                "/unsubscribe — stop them",
                "/help — this message",
            ]
        )

    def _latest_text(self, count: int) -> list[str]:
        """The /latest lines."""
        events = self.store.latest_events(count)
        if not events:
            return [f"No events yet. Wirewatch is watching {len(self.feeds)} feeds; alerts appear here as they come."]
        now = self.clock()
        channel = public_channel_name(self.channel)
        lines = [f"<b>Latest {len(events)} event{'s' if len(events) != 1 else ''}</b>"]
        for number, event in enumerate(events, 1):
            headline = shorten(clean_text(event.headline), LIST_HEADLINE_MAX) or "(untitled)"
            outlets = len(event.outlets)
            details = [f"{outlets} outlet{'s' if outlets != 1 else ''}", format_age(now - event.first_report)]
            lines.append("")
            lines.append(f"{number}. <b>{esc(headline)}</b>")
            link = ""
            if channel:
                message_id = self.store.message_id(CHANNEL_SINK, event.id)
                if message_id and message_id.isdigit():
                    link = f' · <a href="https://t.me/{esc(channel)}/{message_id}">post</a>'
            lines.append(f"{', '.join(details)} · /sources <code>{esc(clean_text(event.id))}</code>{link}")
        return lines

    def _feeds_lines(self) -> list[str]:
        """The /sources lines: each watched feed and its health."""
        health = {h.name: h for h in self.store.feed_health()}
        names = [f.name for f in self.feeds] or sorted(health)
        if not names:
            return ["No feeds are configured."]
        failing = sum(1 for name in names if _is_failing(health.get(name)))
        header = f"<b>Watching {len(names)} feed{'s' if len(names) != 1 else ''}</b>"
        if failing:
            header += f" ({failing} failing)"
        lines = [header]
        for name in names:
            lines.append(f"• {esc(shorten(clean_text(name), 60))} — {self._health_text(health.get(name))}")
        return lines

    def _health_text(self, health: FeedHealth | None) -> str:
        """One feed's health: ok (last success …), failing since … (kind, n failures), or not polled yet."""
        if health is None or (health.last_success is None and not health.consecutive_failures):
            return "not polled yet"
        if _is_failing(health):
            since = health.failing_since or health.last_success
            kind = esc(shorten(clean_text(health.last_error_kind or "error"), 40))
            failures = health.consecutive_failures
            when = f" since {format_utc(since)}" if since else ""
            until = _held_until(health, self.clock())
            wait = f"; server asked to wait until {format_utc(until)}" if until else ""
            return f"failing{when} ({kind}, {failures} failure{'s' if failures != 1 else ''}{wait})"
        assert health.last_success is not None
        return f"ok (checked {format_age(self.clock() - health.last_success)})"

    def _event_sources_lines(self, event_id: str) -> list[str]:
        """The /sources ID lines: every report of the event, linked, in the order outlets reported."""
        event = self.store.event(event_id)
        if event is None:
            return [f"No event with id <code>{esc(event_id)}</code>. /latest shows recent event ids."]
        headline = shorten(clean_text(event.headline), LIST_HEADLINE_MAX) or "(untitled)"
        outlets = len(event.outlets)
        lines = [
            f"<b>{esc(headline)}</b>",
            f"Reported by {outlets} outlet{'s' if outlets != 1 else ''} in {len(event.reports)} "
            f"article{'s' if len(event.reports) != 1 else ''}:",
        ]
        for report in event.reports:
            outlet = esc(shorten(clean_text(report.outlet), 60) or "(unnamed outlet)")
            title = shorten(clean_text(report.title), LIST_HEADLINE_MAX)
            href = safe_href(report.url)
            when = format_utc(report.published or report.seen)
            linked = f'<a href="{esc(href)}">{outlet}</a>' if href else outlet
            lines.append(f"• {linked} — {esc(title) if title else 'untitled'} ({when})")
        return lines

    def _status_text(self) -> list[str]:
        """The /status lines (admins only)."""
        now = self.clock()
        lines = ["<b>Wirewatch status</b>", f"Uptime: {format_duration(now - self.started_at)}"]
        cycle = self.store.last_cycle()
        if cycle is None:
            lines.append("Last cycle: none yet")
        else:
            fields = {k: getattr(cycle, k) for k in _CYCLE_FIELDS}
            finished = fields.get("finished") or now
            counts = ", ".join(f"{fields[k]} {k}" for k in _CYCLE_FIELDS[1:] if fields.get(k) is not None)
            lines.append(f"Last cycle: {format_age(now - finished)} ({counts})")
        # Only the watched feeds: a feed removed from feeds.toml keeps its row (and its last failure).
        watched = {f.name for f in self.feeds}
        health = [h for h in self.store.feed_health() if not watched or h.name in watched]
        failing = [h for h in health if _is_failing(h)]
        if failing:
            names = ", ".join(esc(shorten(clean_text(h.name), 40)) for h in failing[:10])
            more = f" +{len(failing) - 10}" if len(failing) > 10 else ""
            lines.append(f"Feeds failing: {len(failing)} of {len(self.feeds)} ({names}{more})")
        else:
            lines.append(f"Feeds failing: 0 of {len(self.feeds)}")
        waiting = [(h.name, until) for h in health if (until := _held_until(h, now))]
        if waiting:
            held = ", ".join(
                f"{esc(shorten(clean_text(name), 40))} until {format_utc(until)}" for name, until in waiting[:10]
            )
            more = f" +{len(waiting) - 10}" if len(waiting) > 10 else ""
            lines.append(f"Not polled, as their servers asked (Retry-After): {held}{more}")
        lines.append(f"Outbox depth: {self.store.outbox_depth()}")
        lines.append(f"Subscribers: {len(self.store.subscribers())}")
        return lines

    def _private_only(self, command: str, context: ContextTypes.DEFAULT_TYPE, deep_link: str = "") -> str:
        """The answer to a private-chat command used in a group."""
        username = context.bot.username if context.bot else ""
        if username:
            suffix = f"?start={deep_link}" if deep_link else ""
            return f'{command} works in a private chat: <a href="https://t.me/{esc(username)}{suffix}">open one</a>.'
        return f"{command} works in a private chat with me."

    async def _guarded(self, update: Update, build: Callable[[], str | list[str]]) -> None:
        """Build a reply from the store and send it; a failure gets a short apology, never a traceback."""
        try:
            built = build()
        except Exception:
            log.exception("command failed while reading the store")
            await self._reply(update, "Sorry, something went wrong on my side. Please try again in a minute.")
            return
        if isinstance(built, str):
            await self._reply(update, built)
        else:
            for part in split_reply(built):
                await self._reply(update, part)

    async def _reply(self, update: Update, text: str) -> None:
        """Reply in the same chat (quoting the command in groups, where several people talk)."""
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        try:
            await message.reply_text(
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                do_quote=chat.type != ChatType.PRIVATE,
                allow_sending_without_reply=True,  # the command may have been deleted meanwhile
            )
        except TelegramError as exc:
            log.warning("could not answer a command in chat %s: %s", chat.id, exc.message)


_CYCLE_FIELDS = ("finished", "entries", "new", "matched", "events", "errors")


def _held_until(health: FeedHealth, now: datetime) -> datetime | None:
    """Until when the feed's server asked (Retry-After) not to be polled, while that is still ahead."""
    until = health.retry_after_until
    return until if until is not None and until > now else None


def _is_failing(health: FeedHealth | None) -> bool:
    """True when the feed's last poll failed."""
    return health is not None and health.consecutive_failures > 0
