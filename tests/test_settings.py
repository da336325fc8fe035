"""Settings from the environment, feeds.toml and topics.toml: good values load, bad ones name file and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.adapters.discord import DiscordSink
from bot.check_config import check_config
from bot.errors import ConfigError
from bot.models import Feed
from bot.settings import Settings, load_feeds, load_settings, load_topics, read_feeds

CONFIG = Path(__file__).resolve().parents[1] / "config"
TOKEN = "123456789:AAE-fake_token_for_tests"


# ---------------------------------------------------------------------------------------- environment


def test_defaults_need_no_variables() -> None:
    """An empty environment is valid: console delivery, ./config, ./data/wirewatch.db."""
    settings = load_settings({})
    assert settings == Settings()
    assert settings.telegram_token is None and not settings.telegram_enabled
    assert settings.telegram_base_url == "https://api.telegram.org/bot"
    assert settings.config_dir == Path("config") and settings.db_path == Path("data/wirewatch.db")
    assert settings.feeds_path == Path("config/feeds.toml")
    assert settings.topics_path == Path("config/topics.toml")
    assert (settings.log_level, settings.backlog_hours, settings.edit_interval_s) == ("INFO", 24.0, 60.0)


def test_every_variable_parsed() -> None:
    """Every variable is read from the mapping passed in, with lists split on commas."""
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": f" {TOKEN} ",
            "TELEGRAM_CHANNEL": "-1001234567890",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
            "TELEGRAM_ADMIN_IDS": "11, 22,,33,",
            "DISCORD_WEBHOOK_URL": "http://127.0.0.1:9000/api/webhooks/2/a, https://discord.com/api/webhooks/1/b",
            "WIREWATCH_CONFIG_DIR": "/etc/wirewatch",
            "WIREWATCH_DB": ":memory:",
            "LOG_LEVEL": "debug",
            "WIREWATCH_BACKLOG_HOURS": "0.5",
            "WIREWATCH_EDIT_INTERVAL_S": "5",
        }
    )
    assert settings.telegram_token == TOKEN and settings.telegram_enabled
    assert settings.telegram_channel == "-1001234567890"
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_admin_ids == (11, 22, 33)
    assert settings.discord_webhook_urls == (
        "http://127.0.0.1:9000/api/webhooks/2/a",
        "https://discord.com/api/webhooks/1/b",
    )
    assert settings.config_dir == Path("/etc/wirewatch") and str(settings.db_path) == ":memory:"
    assert (settings.log_level, settings.backlog_hours, settings.edit_interval_s) == ("DEBUG", 0.5, 5.0)


def test_empty_values_count_as_unset() -> None:
    """`NAME=` lines from a .env file mean "not set"."""
    assert load_settings({"TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHANNEL": " ", "LOG_LEVEL": ""}) == Settings()


def test_channel_username_accepted() -> None:
    """A public channel's @username is accepted."""
    assert load_settings({"TELEGRAM_CHANNEL": "@nk_china_watch"}).telegram_channel == "@nk_china_watch"


def test_token_and_webhook_secrets_masked() -> None:
    """Neither repr nor str shows the token or a webhook's secret path."""
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/sekrit"}
    )
    for shown in (repr(settings), str(settings), f"{settings}"):
        assert TOKEN not in shown and "AAE-fake" not in shown
        assert "sekrit" not in shown
        assert "***" in shown and "discord.com" in shown


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not a token"),
        ("TELEGRAM_BOT_TOKEN", "123456:abc def"),
        ("TELEGRAM_CHANNEL", "nk_watch"),
        ("TELEGRAM_CHANNEL", "@ab"),
        ("TELEGRAM_CHANNEL", "https://t.me/nk_watch"),
        ("TELEGRAM_BASE_URL", "api.telegram.org/bot"),
        ("TELEGRAM_BASE_URL", "ftp://x/bot"),
        ("TELEGRAM_BASE_URL", "http://127.0.0.1:0/bot"),
        ("TELEGRAM_BASE_URL", "http://127.0.0.1:99999/bot"),
        ("TELEGRAM_ADMIN_IDS", "11,abc"),
        ("TELEGRAM_ADMIN_IDS", "-5"),
        ("TELEGRAM_ADMIN_IDS", "1.5"),
        ("DISCORD_WEBHOOK_URL", "discord.com/api/webhooks/1/x"),
        ("DISCORD_WEBHOOK_URL", "https://ok.example/api/webhooks/1/a,ftp://x/b"),
        ("LOG_LEVEL", "LOUD"),
        ("WIREWATCH_BACKLOG_HOURS", "a day"),
        ("WIREWATCH_BACKLOG_HOURS", "-1"),
        ("WIREWATCH_EDIT_INTERVAL_S", "nan"),
    ],
)
def test_bad_environment_names_the_variable(name: str, value: str) -> None:
    """A bad value raises ConfigError naming the variable and what was expected."""
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    message = str(info.value)
    assert message.startswith(f"environment {name}"), message
    assert "expected" in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("https://discord.com/api/webhooks/s3cr3t-token", "numeric webhook id"),
        ("https://discord.com/s3cr3t-token", "does not end in /<id>/<token>"),
        ("https://discord.com/api/webhooks/123/s3cr3t-token!", "the token"),
        ("discord.com/api/webhooks/123/s3cr3t-token", "not an http or https URL"),
        ("https://ok.example/api/webhooks/1/a, https://discord.com/api/webhooks/", "DISCORD_WEBHOOK_URL[1]"),
        # aiohttp refuses these ports only when the first alert is sent, with a ValueError: refuse them here.
        ("https://discord.com:99999/api/webhooks/123/s3cr3t-token", "port"),
        ("https://discord.com:abc/api/webhooks/123/s3cr3t-token", "port"),
    ],
)
def test_bad_webhook_url_says_what_is_wrong_without_the_token(value: str, problem: str) -> None:
    """A webhook URL without /<id>/<token> is refused at load time: variable, index and problem named, token not."""
    with pytest.raises(ConfigError) as info:
        load_settings({"DISCORD_WEBHOOK_URL": value})
    message = str(info.value)
    assert message.startswith("environment DISCORD_WEBHOOK_URL[") and problem in message, message
    assert "expected" in message and "s3cr3t" not in message


def test_check_config_and_the_discord_sink_refuse_a_webhook_url_alike() -> None:
    """check-config and the sink `run` builds use one check: the same URL gets the same error from both."""
    bad = "https://discord.com/api/webhooks/123456"
    report = check_config({"WIREWATCH_CONFIG_DIR": str(CONFIG), "DISCORD_WEBHOOK_URL": bad})
    with pytest.raises(ConfigError) as from_sink:
        DiscordSink(None, bad)  # type: ignore[arg-type]  # refused before the session is touched
    assert not report.ok and report.errors == (str(from_sink.value),)


def test_bad_token_is_not_echoed() -> None:
    """Even a malformed token is a secret: the error does not repeat it."""
    with pytest.raises(ConfigError) as info:
        load_settings({"TELEGRAM_BOT_TOKEN": "123:secret part"})
    assert "secret" not in str(info.value)


# ---------------------------------------------------------------------------------------- feeds.toml


def _feeds(tmp_path: Path, body: str) -> Path:
    """Write a feeds.toml with `body` and return its path."""
    path = tmp_path / "feeds.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_feeds_load(tmp_path: Path) -> None:
    """Feeds load in file order with their intervals; disabled ones are left out; loopback URLs are fine."""
    path = _feeds(
        tmp_path,
        """
[[feeds]]
name = "Local"
url = "http://127.0.0.1:8000/feed.xml"
interval_s = 1

[[feeds]]
name = "Wire"
url = "https://wire.example/rss"

[[feeds]]
name = "Off"
url = "https://off.example/rss"
enabled = false
""",
    )
    assert load_feeds(path) == (
        Feed(name="Local", url="http://127.0.0.1:8000/feed.xml", interval_s=1),
        Feed(name="Wire", url="https://wire.example/rss", interval_s=900),
    )
    result = read_feeds(path)
    assert result.disabled == ("Off",)
    assert any("feeds[0].interval_s" in w and "below 60" in w for w in result.warnings)


def test_unknown_feed_keys_are_warnings(tmp_path: Path) -> None:
    """Other tools' keys in a replaced feeds.toml are reported, not fatal."""
    path = _feeds(tmp_path, '[[feeds]]\nname = "A"\nurl = "https://a.example/"\ncategory = "x"\n')
    result = read_feeds(path)
    assert len(result.feeds) == 1
    assert result.warnings == (f"{path}: feeds[0].category: unknown key, ignored",)


FEED_OK = '[[feeds]]\nname = "A"\nurl = "https://a.example/rss"\n'
FEED_B = FEED_OK + '[[feeds]]\nname = "B"\nurl = "https://b.example/"\n'


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ('[[feeds]]\nurl = "https://a.example/"\n', "feeds[0].name", "missing"),
        ('[[feeds]]\nname = "A"\n', "feeds[0].url", "missing"),
        ('[[feeds]]\nname = ""\nurl = "https://a.example/"\n', "feeds[0].name", "expected"),
        ('[[feeds]]\nname = 5\nurl = "https://a.example/"\n', "feeds[0].name", "expected"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "ftp://x"\n', "feeds[1].url", "expected an http or https URL"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "a.example/rss"\n', "feeds[1].url", "expected an http or https URL"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = 7\n', "feeds[1].url", "expected"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "https://b.example:0/"\n', "feeds[1].url", "port is a number"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "https://b.example:70000/"\n', "feeds[1].url", "port is a"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "https://b.example:8o/"\n', "feeds[1].url", "port is a"),
        (
            FEED_B + "interval_s = 0\n",
            "feeds[1].interval_s",
            ">= 1",
        ),
        (
            FEED_B + 'interval_s = "60"\n',
            "feeds[1].interval_s",
            "integer",
        ),
        (
            FEED_B + "interval_s = 1.5\n",
            "feeds[1].interval_s",
            "integer",
        ),
        (
            FEED_B + "interval_s = true\n",
            "feeds[1].interval_s",
            "integer",
        ),
        (
            FEED_B + 'enabled = "no"\n',
            "feeds[1].enabled",
            "true or false",
        ),
        (FEED_OK + '[[feeds]]\nname = "a"\nurl = "https://b.example/"\n', "feeds[1].name", "not used by feeds[0]"),
        (FEED_OK + '[[feeds]]\nname = "B"\nurl = "https://a.example/rss"\n', "feeds[1].url", "not used by feeds[0]"),
        ("", "feeds", "at least one [[feeds]]"),
        ('feeds = "x"\n', "feeds", "at least one [[feeds]]"),
        ("feeds = [1]\n", "feeds[0]", "expected"),
    ],
)
def test_bad_feeds_name_file_and_key(tmp_path: Path, body: str, key: str, expected: str) -> None:
    """Every bad value in feeds.toml raises ConfigError with the file, the key and what was expected."""
    path = _feeds(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        read_feeds(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert expected in message


def test_url_error_message_shape(tmp_path: Path) -> None:
    """The message reads: file: key: expected …, got 'value'."""
    path = _feeds(tmp_path, '[[feeds]]\nname = "X"\nurl = "ftp://x"\n')
    with pytest.raises(
        ConfigError, match=r"feeds\.toml: feeds\[0\]\.url: expected an http or https URL, got 'ftp://x'$"
    ):
        read_feeds(path)


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line."""
    path = _feeds(tmp_path, FEED_OK + "\n[[feeds]\nname = 'B'\n")
    with pytest.raises(ConfigError, match=r"feeds\.toml: invalid TOML: .*line 5"):
        read_feeds(path)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_feeds(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_topics(tmp_path / "nope.toml")


def test_bad_topics_file_names_file_and_key(tmp_path: Path) -> None:
    """load_topics passes the file name into every message."""
    path = tmp_path / "topics.toml"
    path.write_text('name = "t"\n[groups.a]\nterms = ["x"]\n[[rules]]\nall = ["b"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: rules\[0\]\.all\[0\]: expected a group defined"):
        load_topics(path)
    path.write_text('name = "t"\n[groups.a]\nterms = ["x",,]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"topics\.toml: invalid TOML: .*line 3"):
        load_topics(path)


# ---------------------------------------------------------------------------------------- shipped config


def test_shipped_feeds_load() -> None:
    """config/feeds.toml: at least 15 enabled feeds, unique, https or http, no warnings."""
    result = read_feeds(CONFIG / "feeds.toml")
    assert len(result.feeds) >= 15
    assert result.warnings == ()
    assert len({f.name for f in result.feeds}) == len(result.feeds)


def test_shipped_feeds_say_they_are_unverified() -> None:
    """The header warns that every URL is unverified until run online."""
    head = (CONFIG / "feeds.toml").read_text(encoding="utf-8")[:600]
    assert "UNVERIFIED" in head


def test_shipped_topics_load() -> None:
    """config/topics.toml compiles."""
    topic = load_topics(CONFIG / "topics.toml")
    assert topic.name == "North Korea–China diplomacy"
    assert len(topic.rules) >= 3


def test_check_config_on_shipped_files(tmp_path: Path) -> None:
    """check-config reads the files from WIREWATCH_CONFIG_DIR and reports feeds, topic and sinks."""
    report = check_config({"WIREWATCH_CONFIG_DIR": str(CONFIG)})
    assert report.ok and report.errors == ()
    assert report.lines[-1] == "config OK (0 warning(s))"
    text = report.text()
    assert "feeds:" in text and "topic" in text and "sinks: console" in text
    report = check_config(
        {
            "WIREWATCH_CONFIG_DIR": str(CONFIG),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DISCORD_WEBHOOK_URL": "https://d.example/api/webhooks/9/x",
        }
    )
    assert "telegram: no channel" in report.text() and "discord: 1 webhook" in report.text()
    assert "private chats of subscribers" in report.text()
    assert TOKEN not in report.text()
    assert any("TELEGRAM_CHANNEL is not" in w and "/subscribe" in w for w in report.warnings)


def test_check_config_reports_a_bad_file_as_not_ok(tmp_path: Path) -> None:
    """A bad file makes the report not ok, with the error naming file and key (the CLI exits 2)."""
    shutil.copy(CONFIG / "topics.toml", tmp_path / "topics.toml")
    (tmp_path / "feeds.toml").write_text('[[feeds]]\nname = "A"\nurl = "ftp://x"\n', encoding="utf-8")
    report = check_config({"WIREWATCH_CONFIG_DIR": str(tmp_path)})
    assert not report.ok
    [error] = report.errors
    assert re.match(r".*feeds\.toml: feeds\[0\]\.url: expected an http or https URL", error)
    assert any(line.startswith("topic:") for line in report.lines), "the good topics.toml is still reported"
    assert report.lines[-1].startswith("config NOT OK: 1 error(s)")


def test_check_config_reports_the_environment_and_both_files_in_one_run(tmp_path: Path) -> None:
    """A bad variable, a bad feeds.toml and a missing topics.toml are all reported, each naming its source."""
    (tmp_path / "feeds.toml").write_text('[[feeds]]\nname = "A"\n', encoding="utf-8")
    report = check_config({"WIREWATCH_CONFIG_DIR": str(tmp_path), "TELEGRAM_ADMIN_IDS": "7,x"})
    assert not report.ok
    assert [e.split(":")[0] for e in report.errors] == [
        "environment TELEGRAM_ADMIN_IDS[1]",
        str(tmp_path / "feeds.toml"),
        str(tmp_path / "topics.toml"),
    ]
    assert "feeds[0].url: missing" in report.errors[1] and "file not found" in report.errors[2]
