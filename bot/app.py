"""The long-running service: the scheduler polls feeds, the Telegram bot answers commands, the worker delivers.

All three share one asyncio loop. `poll_once` and `poll_forever` are the headless variants used by
`wirewatch poll`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.adapters.console import ConsoleSink
from bot.adapters.fetch import Fetcher
from bot.adapters.store import Store
from bot.core.events import EventTracker
from bot.core.render_text import render_text
from bot.delivery import DeliveryPolicy, DeliveryWorker
from bot.errors import ConfigError, SinkFatal, StoreError
from bot.models import Feed
from bot.pipeline import CycleReport, Pipeline, PollPolicy
from bot.settings import Settings, load_feeds, load_topics
from bot.sinks import CHANNEL_SINK, Sink, dm_chat, dm_sink

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real clock (the one place outside tests where time is read)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceOptions:
    """Knobs of one service run that the demo and tests turn; production uses the defaults."""

    tick_s: float | None = None  # how often due feeds are looked for; default: from the feed intervals
    console: TextIO = field(default_factory=lambda: sys.stdout)
    stop_after_s: float | None = None  # stop by itself (demo, tests); None runs until a signal
    shutdown_grace_s: float = 5.0  # how long in-flight work may take to finish on stop
    install_signal_handlers: bool = True


class Runtime:
    """The pieces one process needs, built from settings; closed with `aclose`."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.feeds: tuple[Feed, ...] = load_feeds(settings.feeds_path)
        self.rules = load_topics(settings.topics_path)
        self.store = Store.open(settings.db_path)
        self.fetcher = Fetcher()
        self.params = self.rules.events.cluster_params()
        self.tracker = EventTracker(self.params)
        self.static_sinks: dict[str, Sink] = {}
        self.dm_sinks: dict[str, Sink] = {}  # subscribers' private chats, built on first use
        self.pipeline = Pipeline(
            store=self.store,
            fetcher=self.fetcher,
            rules=self.rules,
            tracker=self.tracker,
            sinks=self.sink_names,
            clock=clock,
            policy=PollPolicy(backlog=timedelta(hours=settings.backlog_hours)),
        )

    def sink_names(self) -> Sequence[str]:
        """Every sink an alert goes to now: the static ones plus, with a bot token, each subscriber's private chat.

        Subscribers get the alerts whether or not a channel is configured: /subscribe promises them.
        """
        names = list(self.static_sinks)
        if self.settings.telegram_enabled:
            names += [dm_sink(chat) for chat in self.store.subscribers()]
        return names

    async def start(self) -> int:
        """Open network clients and rebuild the event index from the store; return the events restored."""
        await self.fetcher.__aenter__()
        return self.pipeline.restore()

    async def aclose(self) -> None:
        """Close the network clients and the database."""
        await self.fetcher.__aexit__(None, None, None)
        self.store.close()


async def poll_once(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> CycleReport:
    """One cycle over every configured feed (alerts are queued in the outbox, not sent)."""
    runtime = Runtime(settings, clock=clock)
    _add_configured_sinks(runtime, bot=None, session=None)
    try:
        await runtime.start()
        return await runtime.pipeline.run_cycle(runtime.feeds)
    finally:
        await runtime.aclose()


async def poll_forever(settings: Settings) -> int:
    """Poll on schedule without delivering (a headless collector); stops on SIGTERM or Ctrl-C."""
    return await run_service(settings, deliver=False)


def _add_configured_sinks(runtime: Runtime, *, bot: object | None, session: aiohttp.ClientSession | None) -> None:
    """Register the sinks the settings ask for: Telegram channel, Discord webhooks, else the console.

    Subscribers' private chats are not registered here: sink_names adds them, resolved on first use.
    """
    settings = runtime.settings
    if settings.telegram_token and settings.telegram_channel:
        if bot is None:
            runtime.static_sinks[CHANNEL_SINK] = _Unavailable(CHANNEL_SINK)
        else:
            from bot.adapters.telegram import TelegramSink

            runtime.static_sinks[CHANNEL_SINK] = TelegramSink(bot, settings.telegram_channel, name=CHANNEL_SINK)  # type: ignore[arg-type]
    if session is None:
        for n in range(len(settings.discord_webhook_urls)):
            runtime.static_sinks[f"discord:{n}"] = _Unavailable(f"discord:{n}")
    elif settings.discord_webhook_urls:
        from bot.adapters.discord import discord_sinks

        # One shared rate-limit state: Discord's global limit pauses every webhook of this process.
        for sink in discord_sinks(session, settings.discord_webhook_urls):
            runtime.static_sinks[sink.name] = sink
    if not settings.telegram_token:
        runtime.static_sinks["console"] = _Unavailable("console")


class _Unavailable:
    """A placeholder sink for `poll --once`: rows are queued, and `run` delivers them later."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def post(self, event: object, reply_to: str | None) -> str:  # pragma: no cover - never resolved
        """Never called: poll --once does not deliver."""
        raise NotImplementedError

    async def edit(self, message_id: str, event: object) -> None:  # pragma: no cover - never resolved
        """Never called: poll --once does not deliver."""
        raise NotImplementedError


async def run_service(
    settings: Settings,
    *,
    options: ServiceOptions | None = None,
    deliver: bool = True,
    clock: Callable[[], datetime] = utc_now,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> int:
    """Run until SIGTERM/Ctrl-C (or `stop_after_s`); return the process exit status."""
    options = options or ServiceOptions()
    stop = asyncio.Event()
    runtime = Runtime(settings, clock=clock)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    application = None
    try:
        if deliver and settings.telegram_token:
            from bot.adapters.telegram import build_application, install_token_redaction

            install_token_redaction(settings.telegram_token)
            application = build_application(settings.telegram_token, settings.telegram_base_url)
            try:
                await application.initialize()
            except Exception as exc:  # an invalid token or an unreachable API: say so once, no retry storm
                # Not chained: python-telegram-bot's InvalidToken message quotes the token itself.
                raise ConfigError(_startup_failure(exc, settings.telegram_token)) from None
        elif deliver:
            print(
                "wirewatch: TELEGRAM_BOT_TOKEN is not set: alerts are printed to the console instead.",
                file=sys.stderr,
            )
        if deliver and settings.telegram_enabled and not settings.telegram_channel:
            print(
                "wirewatch: TELEGRAM_CHANNEL is not set: Telegram alerts go only to the private chats that /subscribe.",
                file=sys.stderr,
            )
        _add_configured_sinks(runtime, bot=application.bot if application else None, session=session)
        if "console" in runtime.static_sinks:
            runtime.static_sinks["console"] = ConsoleSink(
                options.console, render_text, first_id=runtime.store.last_message_number("console") + 1
            )
        restored = await runtime.start()
        log.info("started: %d feeds, %d events restored into the event index", len(runtime.feeds), restored)

        worker = DeliveryWorker(
            store=runtime.store,
            resolve=lambda name: _resolve_sink(runtime, application, name),
            clock=clock,
            policy=DeliveryPolicy(edit_interval_s=settings.edit_interval_s),
            on_fatal=lambda name, exc: _drop_blocked_subscriber(runtime, name, exc),
        )
        if application is not None:
            from bot.commands import Commands

            commands = Commands(
                store=runtime.store,
                feeds=runtime.feeds,
                admin_ids=settings.telegram_admin_ids,
                channel=settings.telegram_channel,
                started_at=clock(),
                clock=clock,
                topic=runtime.rules.name,
            )
            await commands.attach(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(drop_pending_updates=False)

        in_flight: set[asyncio.Task[Any]] = set()

        async def tick() -> None:
            """Poll the feeds that are due, then wake the delivery worker."""
            task = asyncio.current_task()
            if task is not None:
                in_flight.add(task)
            try:
                due = runtime.pipeline.due_feeds(runtime.feeds, clock())
                if not due:
                    return
                report = await runtime.pipeline.run_cycle(due)
            except StoreError as exc:
                # Nothing of the cycle was committed; the next tick tries again.
                log.error("poll cycle failed: %s", exc)
                return
            except asyncio.CancelledError:
                # Shutdown outlasted the grace period: the cycle's transaction never began, nothing is lost.
                log.info("poll cycle interrupted by shutdown")
                return
            finally:
                if task is not None:
                    in_flight.discard(task)
            if on_cycle is not None:
                on_cycle(report)
            worker.notify()

        scheduler = AsyncIOScheduler(timezone=UTC)
        tick_s = options.tick_s or _tick_seconds(runtime.feeds)
        # Coalesce and no misfire limit: a busy loop delays the next poll instead of silently dropping it.
        scheduler.add_job(
            tick,
            "interval",
            seconds=tick_s,
            next_run_time=clock(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            id="poll",
        )
        scheduler.start()
        _install_signals(stop, options)
        worker_task = asyncio.create_task(worker.run(stop) if deliver else stop.wait())
        try:
            if options.stop_after_s is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=options.stop_after_s)
            else:
                await stop.wait()
        finally:
            stop.set()
            scheduler.shutdown(wait=False)
            # Let the poll cycle and the delivery pass in flight finish, within the grace period.
            pending = [worker_task, *in_flight]
            _, late = await asyncio.wait(pending, timeout=options.shutdown_grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        log.info("stopped cleanly; %d alerts wait in the outbox", runtime.store.outbox_depth())
        return 0
    finally:
        if application is not None:
            with contextlib.suppress(Exception):
                if application.updater is not None and application.updater.running:
                    await application.updater.stop()
                if application.running:
                    await application.stop()
                await application.shutdown()
        await session.close()
        await runtime.aclose()


def _startup_failure(exc: Exception, token: str) -> str:
    """Why the bot could not start, for the console: never the token, which PTB's own message quotes."""
    from telegram.error import InvalidToken

    from bot.adapters.telegram import redact

    if isinstance(exc, InvalidToken):
        return (
            "TELEGRAM_BOT_TOKEN: the Bot API rejected the token (HTTP 401 or 404). Check the token from "
            "@BotFather (and TELEGRAM_BASE_URL, if it is set)."
        )
    return f"TELEGRAM_BOT_TOKEN: the bot could not start: {redact(str(exc), token) or type(exc).__name__}"


def _resolve_sink(runtime: Runtime, application: object | None, name: str) -> Sink | None:
    """Find the sink of an outbox row; subscribers' private chats get a Telegram sink on demand."""
    if name in runtime.static_sinks:
        return runtime.static_sinks[name]
    chat = dm_chat(name)
    if chat is not None and application is not None:
        from bot.adapters.telegram import TelegramSink

        if not runtime.store.is_subscriber(chat):
            runtime.dm_sinks.pop(name, None)
            return None  # unsubscribed (or blocked the bot) after the alert was queued: do not send it
        if name in runtime.dm_sinks:
            return runtime.dm_sinks[name]
        sink = TelegramSink(application.bot, chat, name=name)  # type: ignore[attr-defined]
        runtime.dm_sinks[name] = sink
        return sink
    return None


def _drop_blocked_subscriber(runtime: Runtime, name: str, exc: SinkFatal) -> bool:
    """A subscriber's private chat refuses the bot (blocked it, account deleted): unsubscribe it for good.

    Only a refusal of this one chat counts: a revoked token also raises SinkFatal, and must not cost
    every subscriber their subscription.
    """
    chat = dm_chat(name)
    if chat is None:
        return False
    from telegram.error import BadRequest, Forbidden

    if not isinstance(exc.__cause__, Forbidden | BadRequest):
        return False
    runtime.store.remove_subscriber(chat)
    runtime.dm_sinks.pop(name, None)
    log.warning("subscriber %s refuses the bot's messages (%s): unsubscribed", chat, exc)
    return True


def _tick_seconds(feeds: Sequence[Feed]) -> float:
    """How often to look for due feeds: a quarter of the shortest interval, between 0.25 and 30 seconds.

    A feed is polled at the first tick after it is due, so a tick as long as the interval (1 s feeds)
    would poll it every other tick, at twice its interval.
    """
    shortest = min((f.interval_s for f in feeds), default=60)
    return float(min(30.0, max(0.25, shortest / 4)))


def _install_signals(stop: asyncio.Event, options: ServiceOptions) -> None:
    """SIGTERM and SIGINT set `stop`, so the service finishes its in-flight work and exits."""
    if not options.install_signal_handlers:
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
