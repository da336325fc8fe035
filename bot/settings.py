"""Settings from the environment, and the feeds and topic read from the config directory.

Every bad value raises ConfigError naming the file (or environment variable), the key and what was
expected. No variable is required: without Telegram or Discord settings, alerts go to the console.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.core.topics import TopicRules, build_topic_rules
from bot.errors import ConfigError
from bot.models import Feed

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CONFIG_DIR = "config"
DEFAULT_DB = "data/wirewatch.db"
DEFAULT_INTERVAL_S = 900  # Feed's default: 15 minutes is polite for a news feed
MIN_POLITE_INTERVAL_S = 60  # below this, check-config warns: most publishers update far less often
DEFAULT_BACKLOG_HOURS = 24.0
DEFAULT_EDIT_INTERVAL_S = 60.0  # at most about one edit a minute per alert (issue 4)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_FEED_KEYS = frozenset({"name", "url", "interval_s", "enabled"})
_CHANNEL = re.compile(r"@[A-Za-z][A-Za-z0-9_]{4,31}|-?[0-9]+")  # Telegram usernames are 5-32 characters
_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")  # "<bot id>:<secret>", as BotFather issues it
_WEBHOOK_ID = re.compile(r"[0-9]+")  # Discord ids are snowflakes: decimal digits
_WEBHOOK_TOKEN = re.compile(r"[A-Za-z0-9_-]+")  # what Discord's "Copy Webhook URL" gives after the id
WEBHOOK_URL_FORM = "https://discord.com/api/webhooks/<id>/<token>"


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings from the environment; repr and str mask the token and the webhook secrets."""

    telegram_token: str | None = field(default=None, repr=False)
    telegram_channel: str | None = None
    telegram_base_url: str = DEFAULT_BASE_URL
    telegram_admin_ids: tuple[int, ...] = ()
    discord_webhook_urls: tuple[str, ...] = ()
    config_dir: Path = Path(DEFAULT_CONFIG_DIR)
    db_path: Path = Path(DEFAULT_DB)
    log_level: str = "INFO"
    backlog_hours: float = DEFAULT_BACKLOG_HOURS
    edit_interval_s: float = DEFAULT_EDIT_INTERVAL_S

    def __repr__(self) -> str:
        """Every field, with the token masked."""
        token = "'***'" if self.telegram_token else "None"
        return (
            f"Settings(telegram_token={token}, telegram_channel={self.telegram_channel!r}, "
            f"telegram_base_url={self.telegram_base_url!r}, telegram_admin_ids={self.telegram_admin_ids!r}, "
            f"discord_webhook_urls={tuple(_redact(u) for u in self.discord_webhook_urls)!r}, "
            f"config_dir={str(self.config_dir)!r}, "
            f"db_path={str(self.db_path)!r}, log_level={self.log_level!r}, "
            f"backlog_hours={self.backlog_hours!r}, edit_interval_s={self.edit_interval_s!r})"
        )

    __str__ = __repr__

    @property
    def feeds_path(self) -> Path:
        """config/feeds.toml inside the config directory."""
        return self.config_dir / "feeds.toml"

    @property
    def topics_path(self) -> Path:
        """config/topics.toml inside the config directory."""
        return self.config_dir / "topics.toml"

    @property
    def telegram_enabled(self) -> bool:
        """A token is set: the bot answers commands (and posts when a channel is set too)."""
        return self.telegram_token is not None


@dataclass(frozen=True, slots=True)
class FeedsFile:
    """feeds.toml as read: the enabled feeds, and warnings a person should see."""

    feeds: tuple[Feed, ...]
    disabled: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _redact(url: str) -> str:
    """A webhook URL without its path, which holds the webhook's secret."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)"
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value stripped; empty counts as unset (a `NAME=` line in a .env file)."""
    value = environ.get(name, "").strip()
    return value or None


def _http_url(value: str) -> bool:
    """True for an absolute http or https URL with a host (loopback included)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _valid_port(url: str) -> bool:
    """True when the URL names no port, or a port aiohttp will connect to (1-65535)."""
    try:
        port = urlsplit(url).port
    except ValueError:  # not a number, or above 65535
        return False
    return port is None or port > 0


def check_webhook_url(url: str, key: str) -> str:
    """The webhook URL stripped, or ConfigError naming `key` and what is wrong (never showing the token).

    The one check of a Discord webhook URL, used by check-config, run and the Discord sink alike: any
    http(s) host (tests and proxies use loopback), a path ending in /<numeric id>/<token>, any query
    (Discord's ?thread_id=…).
    """
    url = url.strip()
    problem = None
    if not _http_url(url):
        problem = "it is not an http or https URL with a host"
    elif not _valid_port(url):
        problem = "its port is not a number from 1 to 65535"
    else:
        segments = [s for s in urlsplit(url).path.split("/") if s]
        if len(segments) < 2:
            problem = "its path does not end in /<id>/<token>"
        elif not _WEBHOOK_ID.fullmatch(segments[-2]):
            problem = "the path segment before the token is not a numeric webhook id"
        elif not _WEBHOOK_TOKEN.fullmatch(segments[-1]):
            problem = "the token (the last path segment) holds characters other than letters, digits, - and _"
    if problem is None:
        return url
    # The path holds the secret: show only the scheme and host.
    shown = _redact(url) if "://" in url else "(not a URL)"
    raise ConfigError(
        f"environment {key}: expected a Discord webhook URL like {WEBHOOK_URL_FORM}, got {shown}: {problem}"
    )


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number from the environment."""
    raw = _env(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):  # also rejects NaN
        raise ConfigError(f"environment {name}: expected a number >= 0, got {raw!r}")
    return value


def config_dir_from(environ: Mapping[str, str]) -> Path:
    """The config directory WIREWATCH_CONFIG_DIR names (default ./config); any value is a valid path."""
    return Path(_env(environ, "WIREWATCH_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Settings from `environ` (pass os.environ); raises ConfigError naming the bad variable."""
    token = _env(environ, "TELEGRAM_BOT_TOKEN")
    if token is not None and not _TOKEN.fullmatch(token):
        # never echo the value: it is a secret, however malformed
        raise ConfigError(
            "environment TELEGRAM_BOT_TOKEN: expected a token from @BotFather like '123456:ABC-def_…' "
            "(digits, a colon, then letters, digits, '-' or '_'; no spaces or quotes)"
        )

    channel = _env(environ, "TELEGRAM_CHANNEL")
    if channel is not None and not _CHANNEL.fullmatch(channel):
        raise ConfigError(
            "environment TELEGRAM_CHANNEL: expected '@channelname' (5-32 letters, digits or _) "
            f"or a numeric chat id such as -1001234567890, got {channel!r}"
        )

    base_url = _env(environ, "TELEGRAM_BASE_URL") or DEFAULT_BASE_URL
    if not _http_url(base_url) or not _valid_port(base_url):
        raise ConfigError(
            f"environment TELEGRAM_BASE_URL: expected an http or https URL (any port from 1 to 65535), got {base_url!r}"
        )

    admin_ids: list[int] = []
    for i, item in enumerate((_env(environ, "TELEGRAM_ADMIN_IDS") or "").split(",")):
        item = item.strip()
        if not item:
            continue  # tolerate "1, 2," and spaces
        if not item.isdigit() or int(item) == 0:
            raise ConfigError(
                f"environment TELEGRAM_ADMIN_IDS[{i}]: expected a positive integer Telegram user id "
                f"(comma-separated), got {item!r}"
            )
        admin_ids.append(int(item))

    webhooks: list[str] = []
    for i, item in enumerate((_env(environ, "DISCORD_WEBHOOK_URL") or "").split(",")):
        item = item.strip()
        if not item:
            continue
        webhooks.append(check_webhook_url(item, f"DISCORD_WEBHOOK_URL[{i}]"))

    level = (_env(environ, "LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"environment LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {environ.get('LOG_LEVEL')!r}"
        )

    return Settings(
        telegram_token=token,
        telegram_channel=channel,
        telegram_base_url=base_url,
        telegram_admin_ids=tuple(dict.fromkeys(admin_ids)),
        discord_webhook_urls=tuple(dict.fromkeys(webhooks)),
        config_dir=config_dir_from(environ),
        db_path=Path(_env(environ, "WIREWATCH_DB") or DEFAULT_DB),
        log_level=level,
        backlog_hours=_number(environ, "WIREWATCH_BACKLOG_HOURS", DEFAULT_BACKLOG_HOURS),
        edit_interval_s=_number(environ, "WIREWATCH_EDIT_INTERVAL_S", DEFAULT_EDIT_INTERVAL_S),
    )


def _read_toml(path: Path | str) -> dict[str, object]:
    """Parse a TOML file; a missing file or a syntax error (with its line) becomes ConfigError."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc


def _fail(path: Path | str, key: str, expected: str, got: object) -> ConfigError:
    """A ConfigError naming the file, the key, what was expected and what was found."""
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ConfigError(f"{path}: {key}: expected {expected}, got {shown}")


def read_feeds(path: Path | str) -> FeedsFile:
    """Read and validate feeds.toml: the enabled feeds, the disabled names and warnings.

    Unknown keys are warnings, not errors: other tools hand Wirewatch their own feeds.toml, which may
    carry keys of theirs (DESIGN.md: "Other keys are yours").
    """
    data = _read_toml(path)
    warnings = [f"{path}: {key}: unknown key, ignored" for key in data if key != "feeds"]
    tables = data.get("feeds")
    if not isinstance(tables, list) or not tables:
        raise _fail(path, "feeds", "at least one [[feeds]] table with `name` and `url`", tables)
    feeds: list[Feed] = []
    disabled: list[str] = []
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for i, table in enumerate(tables):
        key = f"feeds[{i}]"
        if not isinstance(table, dict):
            raise _fail(path, key, "a [[feeds]] table", table)
        for name in table:
            if name not in _FEED_KEYS:
                warnings.append(f"{path}: {key}.{name}: unknown key, ignored")
        for required in ("name", "url"):
            if required not in table:
                raise ConfigError(f"{path}: {key}.{required}: missing (every [[feeds]] needs `name` and `url`)")
        name = table["name"]
        if not isinstance(name, str) or not name.strip():
            raise _fail(path, f"{key}.name", "the outlet name as a non-empty string", name)
        name = name.strip()
        url = table["url"]
        if not isinstance(url, str) or not _http_url(url.strip()):
            raise _fail(path, f"{key}.url", "an http or https URL", url)
        url = url.strip()
        if not _valid_port(url):
            raise _fail(path, f"{key}.url", "an http or https URL whose port is a number from 1 to 65535", url)
        interval = table.get("interval_s", DEFAULT_INTERVAL_S)
        # TOML booleans are Python ints: reject them explicitly
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise _fail(path, f"{key}.interval_s", "an integer number of seconds >= 1", interval)
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _fail(path, f"{key}.enabled", "true or false", enabled)
        if name.casefold() in names:
            raise _fail(path, f"{key}.name", f"a name not used by feeds[{names[name.casefold()]}]", name)
        if url in urls:
            raise _fail(path, f"{key}.url", f"a URL not used by feeds[{urls[url]}]", url)
        names[name.casefold()] = i
        urls[url] = i
        if not enabled:
            disabled.append(name)
            continue
        if interval < MIN_POLITE_INTERVAL_S:
            warnings.append(
                f"{path}: {key}.interval_s: {interval} s is below {MIN_POLITE_INTERVAL_S} s; "
                "honoured, but impolite to a public feed"
            )
        feeds.append(Feed(name=name, url=url, interval_s=interval))
    if not feeds:
        warnings.append(f"{path}: every feed is disabled: nothing will be polled")
    return FeedsFile(feeds=tuple(feeds), disabled=tuple(disabled), warnings=tuple(warnings))


def load_feeds(path: Path | str) -> tuple[Feed, ...]:
    """The enabled feeds of feeds.toml; warnings are logged, bad values raise ConfigError."""
    result = read_feeds(path)
    for warning in result.warnings:
        log.warning("%s", warning)
    return result.feeds


def load_topics(path: Path | str) -> TopicRules:
    """Read and compile topics.toml; bad values raise ConfigError naming the file and key."""
    return build_topic_rules(_read_toml(path), str(path))
