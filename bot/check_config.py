"""`wirewatch check-config`: validate the environment and both config files, and say what was found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ConfigError
from bot.settings import FeedsFile, Settings, config_dir_from, load_settings, load_topics, read_feeds


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What check-config found: lines for a person (warnings last, prefixed "warning:"), warnings and errors.

    The environment, feeds.toml and topics.toml are checked independently, so one run reports the first
    bad value of each of them. Warnings are advice; an error makes the check fail (exit status 2).
    """

    lines: tuple[str, ...]
    warnings: tuple[str, ...]
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings do not count); the CLI exits 2 otherwise."""
        return not self.errors

    def text(self) -> str:
        """The whole report as printable text."""
        return "\n".join(self.lines)


def check_config(environ: Mapping[str, str]) -> CheckReport:
    """Validate the environment, feeds.toml and topics.toml; every bad source is reported, none raises."""
    errors: list[str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        errors.append(str(exc))
    # The files are checked even when another variable is bad: WIREWATCH_CONFIG_DIR itself cannot be.
    paths = settings or Settings(config_dir=config_dir_from(environ))
    lines = [f"config dir: {paths.config_dir}"]
    if settings is not None:
        lines.append(f"database: {settings.db_path}")

    feeds_file: FeedsFile | None = None
    try:
        feeds_file = read_feeds(paths.feeds_path)
    except ConfigError as exc:
        errors.append(str(exc))
    else:
        feeds = feeds_file.feeds
        intervals = sorted(f.interval_s for f in feeds)
        disabled = f", {len(feeds_file.disabled)} disabled" if feeds_file.disabled else ""
        span = f", intervals {intervals[0]}-{intervals[-1]} s" if intervals else ""
        lines.append(f"feeds: {paths.feeds_path}: {len(feeds)} enabled{disabled}{span}")

    try:
        topic = load_topics(paths.topics_path)
    except ConfigError as exc:
        errors.append(str(exc))
    else:
        lines.append(f"topic: {paths.topics_path}:")
        lines.extend(f"  {line}" for line in topic.summary())

    warnings = list(feeds_file.warnings) if feeds_file is not None else []
    if settings is not None:
        lines.extend(_sink_lines(settings))
        warnings.extend(_sink_warnings(settings))
    lines.extend(f"warning: {w}" for w in warnings)
    if errors:
        lines.append(f"config NOT OK: {len(errors)} error(s), {len(warnings)} warning(s)")
    else:
        lines.append(f"config OK ({len(warnings)} warning(s))")
    return CheckReport(lines=tuple(lines), warnings=tuple(warnings), errors=tuple(errors))


def _sink_lines(settings: Settings) -> list[str]:
    """Where alerts will go, and the backlog and edit pacing."""
    sinks = []
    if settings.telegram_token is None:
        sinks.append("console (no TELEGRAM_BOT_TOKEN)")
    else:
        if settings.telegram_channel:
            sinks.append(f"telegram channel ({settings.telegram_channel}) via {settings.telegram_base_url}")
        else:
            sinks.append(f"telegram: no channel (TELEGRAM_CHANNEL is not set) via {settings.telegram_base_url}")
        sinks.append("telegram private chats of subscribers (/subscribe)")
        sinks.append(f"telegram admins: {len(settings.telegram_admin_ids)}")
    if settings.discord_webhook_urls:
        sinks.append(f"discord: {len(settings.discord_webhook_urls)} webhook(s)")
    return [
        "sinks: " + "; ".join(sinks),
        f"backlog: entries older than {settings.backlog_hours:g} h on first sight are not alerted; "
        f"edits coalesced to one per {settings.edit_interval_s:g} s",
    ]


def _sink_warnings(settings: Settings) -> list[str]:
    """Settings that load but probably do not do what the user wants."""
    warnings = []
    if settings.telegram_token is not None and settings.telegram_channel is None:
        warnings.append(
            "TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHANNEL is not: Telegram alerts go only to the private "
            "chats that /subscribe"
        )
    if settings.telegram_channel is not None and settings.telegram_token is None:
        warnings.append("TELEGRAM_CHANNEL is set but TELEGRAM_BOT_TOKEN is not: alerts go to the console")
    return warnings
