"""`wirewatch check-config`: validate the environment and both config files, and say what was found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import load_settings, load_topics, read_feeds


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What check-config found: lines for a person (warnings last, prefixed "warning:"), and the warnings.

    A bad value never reaches a report: it raises ConfigError (exit status 2). Warnings do not fail.
    """

    lines: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Always true: the configuration loaded; warnings are advice, not failures."""
        return True

    def text(self) -> str:
        """The whole report as printable text."""
        return "\n".join(self.lines)


def check_config(environ: Mapping[str, str]) -> CheckReport:
    """Validate the environment, feeds.toml and topics.toml; the first bad value raises ConfigError."""
    settings = load_settings(environ)
    feeds_file = read_feeds(settings.feeds_path)
    topic = load_topics(settings.topics_path)

    lines = [f"config dir: {settings.config_dir}", f"database: {settings.db_path}"]
    feeds = feeds_file.feeds
    intervals = sorted(f.interval_s for f in feeds)
    disabled = f", {len(feeds_file.disabled)} disabled" if feeds_file.disabled else ""
    span = f", intervals {intervals[0]}-{intervals[-1]} s" if intervals else ""
    lines.append(f"feeds: {settings.feeds_path}: {len(feeds)} enabled{disabled}{span}")
    lines.append(f"topic: {settings.topics_path}:")
    lines.extend(f"  {line}" for line in topic.summary())

    sinks = []
    if settings.telegram_token is None:
        sinks.append("console (no TELEGRAM_BOT_TOKEN)")
    else:
        target = settings.telegram_channel or "no channel: TELEGRAM_CHANNEL is not set"
        sinks.append(f"telegram channel ({target}) via {settings.telegram_base_url}")
        sinks.append(f"telegram admins: {len(settings.telegram_admin_ids)}")
    if settings.discord_webhook_urls:
        sinks.append(f"discord: {len(settings.discord_webhook_urls)} webhook(s)")
    lines.append("sinks: " + "; ".join(sinks))
    lines.append(
        f"backlog: entries older than {settings.backlog_hours:g} h on first sight are not alerted; "
        f"edits coalesced to one per {settings.edit_interval_s:g} s"
    )

    warnings = list(feeds_file.warnings)
    if settings.telegram_token is not None and settings.telegram_channel is None:
        warnings.append("TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHANNEL is not: nothing will be posted to Telegram")
    if settings.telegram_channel is not None and settings.telegram_token is None:
        warnings.append("TELEGRAM_CHANNEL is set but TELEGRAM_BOT_TOKEN is not: alerts go to the console")
    lines.extend(f"warning: {w}" for w in warnings)
    lines.append(f"config OK ({len(warnings)} warning(s))")
    return CheckReport(lines=tuple(lines), warnings=tuple(warnings))
