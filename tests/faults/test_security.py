"""Security faults: token leaks, injected markup, command abuse, feed URL schemes, database file permissions.

The main test runs the real `wirewatch run` at LOG_LEVEL=DEBUG (the most talkative setting) against the
fakes while the Bot API fails now and then, a hostile feed item is alerted, an admin and a stranger ask
for /status, and one user floods commands; then everything the process printed is searched for the token.
"""

from __future__ import annotations

import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.check_config import check_config
from tests.builders import Clock
from tests.environ import clean_environ, write_config
from tests.fake_botapi import FakeBotAPI, parse_telegram_html
from tests.fake_discord import FAKE_TOKEN as WEBHOOK_TOKEN
from tests.fake_discord import FakeDiscord
from tests.fakes import FeedServer
from tests.faults.helpers import REPO, Item, rss, story

CHANNEL = "@wirewatch_security"
ADMIN, STRANGER, FLOODER = 4242, 5151, 6161
FLOOD = 40
HOSTILE_TITLE = (
    'Kim Jong Un <script>alert(1)</script> & Xi <b>bold</b> <a href="javascript:alert(2)">x</a> '
    "@everyone <@&123> [click](https://evil.example/phish) **stars** ||spoiler|| `code`"
)
HOSTILE_LINK = 'https://hostile.example/a?q="><b>injected</b>'


def environment(folder: Path, telegram: FakeBotAPI, hook: str, feed_url: str, **extra: str) -> dict[str, str]:
    """Environment of a service run against the fakes."""
    config = write_config(folder, {"Wire": feed_url}, interval_s=1)
    env = clean_environ()
    return (
        env
        | {
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_CHANNEL": CHANNEL,
            "TELEGRAM_BASE_URL": telegram.base_url,
            "TELEGRAM_ADMIN_IDS": str(ADMIN),
            "DISCORD_WEBHOOK_URL": hook,
            "WIREWATCH_CONFIG_DIR": str(config),
            "WIREWATCH_DB": str(folder / "data" / "ww.db"),
            "WIREWATCH_EDIT_INTERVAL_S": "0.5",
            "LOG_LEVEL": "DEBUG",
        }
        | extra
    )


def secrets_in(text: str, token: str) -> list[str]:
    """Which forms of the bot token or the webhook token occur in `text`."""
    forms = {"token": token, "token (URL-encoded)": quote(token, safe=""), "token secret": token.split(":", 1)[1]}
    forms["webhook token"] = WEBHOOK_TOKEN
    return [name for name, form in forms.items() if form in text]


@pytest.fixture(scope="module")
def service_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One `wirewatch run` through faults, a hostile alert, /status from two users and a command flood."""
    folder = tmp_path_factory.mktemp("security")
    clock = Clock()
    with FakeBotAPI() as telegram, FakeDiscord().in_thread() as discord, FeedServer() as server:
        first = Item(
            HOSTILE_TITLE,
            link=HOSTILE_LINK,
            description="<p>Pyongyang and Beijing <a href='https://evil"
            ".example/'>agreed</a>.</p><script>steal()</script>",
            published=clock.now - timedelta(minutes=5),
        )
        server.route("/feed.xml", rss([first]), validators=True)  # fmt: skip
        env = environment(folder, telegram, discord.add_webhook(), server.url("/feed.xml"))
        telegram.fault("500", method="sendMessage")  # errors get logged, with whatever they carry
        telegram.fault("502", method="getUpdates", times=2)
        telegram.fault("slow", method="setMyCommands", delay=0.2)
        out = folder / "output.txt"
        with open(out, "wb") as sink:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                telegram.wait_for(lambda: len(telegram.sent_to(CHANNEL)) >= 1, timeout=20)
                telegram.enqueue_message("/status", chat_id=ADMIN, user_id=ADMIN)
                telegram.enqueue_message("/status", chat_id=STRANGER, user_id=STRANGER)
                # The flood and a new alert at the same moment: the alert must not wait behind the flood.
                flood_started = time.monotonic()
                for _ in range(FLOOD):
                    telegram.enqueue_message("/latest 20", chat_id=FLOODER, user_id=FLOODER)
                server.update("/feed.xml", body=rss([first, story(1, "Wire", clock.now - timedelta(minutes=1))]))
                telegram.wait_for(lambda: len(telegram.sent_to(CHANNEL)) >= 2, timeout=20)
                alert_latency = time.monotonic() - flood_started
                telegram.wait_for(lambda: telegram.sent_to(ADMIN) and telegram.sent_to(STRANGER), timeout=10)
                time.sleep(1.5)  # let the flood's last updates be handled
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
        yield {
            "telegram": telegram,
            "discord_messages": list(discord.messages.values()),
            "output": out.read_text(errors="replace"),
            "returncode": proc.returncode,
            "alert_latency": alert_latency,
            "db": folder / "data" / "ww.db",
        }


def test_the_token_is_nowhere_in_what_the_service_printed(service_run: dict) -> None:
    """At DEBUG, through Bot API errors, the token (plain, URL-encoded, or its secret half) is never printed."""
    output = service_run["output"]
    assert service_run["returncode"] == 0
    assert "cycle:" in output and len(output) > 1000  # it did print plenty
    assert secrets_in(output, service_run["telegram"].token) == []


def test_status_answers_the_admin_only_and_shows_no_secret(service_run: dict) -> None:
    """/status gives the admin the status and the stranger a refusal; neither reply carries a token."""
    telegram: FakeBotAPI = service_run["telegram"]
    [admin] = telegram.sent_to(ADMIN)
    [stranger] = telegram.sent_to(STRANGER)
    assert "Wirewatch status" in admin.plain and "Outbox depth" in admin.plain
    assert "only for the bot's admins" in stranger.plain and "Outbox" not in stranger.plain
    for sent in telegram.sent:
        assert secrets_in(sent.text, telegram.token) == []


def test_a_command_flood_is_limited_and_alerts_are_not_slowed(service_run: dict) -> None:
    """40 commands from one user get at most 5 answers and one "slow down"; the alert meanwhile goes out in < 5 s."""
    telegram: FakeBotAPI = service_run["telegram"]
    replies = telegram.sent_to(FLOODER)
    assert 1 <= len(replies) <= 6
    assert sum("Slow down" in r.plain for r in replies) == 1
    assert service_run["alert_latency"] < 5.0, service_run["alert_latency"]


def test_feed_text_reaches_telegram_only_as_escaped_text(service_run: dict) -> None:
    """Parsing the alert as Telegram does finds only the renderer's own tags; the feed's markup is plain text."""
    telegram: FakeBotAPI = service_run["telegram"]
    alert = telegram.sent_to(CHANNEL)[0]
    parsed = parse_telegram_html(telegram.current_text(CHANNEL, alert.message_id) or alert.text)
    assert "<script>alert(1)</script>" in parsed.text and "<b>bold</b>" in parsed.text
    for tag, attrs in parsed.tags:
        assert tag in ("b", "i", "a"), tag
        assert set(attrs) <= {"href"}
        if tag == "a":
            assert attrs["href"].startswith("https://hostile.example/"), attrs
    assert "steal()" not in parsed.text and "evil.example" not in "".join(a.get("href", "") for _, a in parsed.tags)


def test_feed_text_reaches_discord_escaped_and_without_mentions(service_run: dict) -> None:
    """The Discord embed escapes the feed's markdown and links, and pings no one (allowed_mentions parse [])."""
    [message] = [m for m in service_run["discord_messages"] if "Kim Jong Un" in m["embeds"][0]["title"]]
    assert message["allowed_mentions"] == {"parse": []}
    embed = message["embeds"][0]
    text = embed["title"] + "\n" + embed.get("description", "")
    assert not re.search(r"(?<!\\)\[click(?<!\\)\]\(https://evil", text)  # no live markdown link from the feed
    assert not re.search(r"(?<!\\)\*\*stars", text) and not re.search(r"(?<!\\)\|\|spoiler", text)
    assert embed.get("url", "").startswith("https://hostile.example/")


def test_the_database_files_are_not_readable_by_others(service_run: dict) -> None:
    """The database and its WAL/SHM files carry no group or world permission bits."""
    files = [p for p in service_run["db"].parent.iterdir() if p.name.startswith("ww.db")]
    assert service_run["db"] in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path.name, oct(path.stat().st_mode))


@pytest.mark.parametrize(
    "base_url", ["refused-token", "http://127.0.0.1:9/bot"], ids=["token-refused", "api-unreachable"]
)
def test_start_up_failures_print_no_token(tmp_path: Path, base_url: str) -> None:
    """A refused token or an unreachable Bot API stops start-up with exit 2 and a message without the token."""
    with FakeBotAPI(token="999:the-real-token-is-elsewhere") as telegram, FeedServer() as server:
        server.route("/feed.xml", rss([]))
        env = environment(tmp_path, telegram, "", server.url("/feed.xml"))
        env["TELEGRAM_BOT_TOKEN"] = "123456:WRONG-token_for_this_bot_xyz"
        if base_url != "refused-token":
            env["TELEGRAM_BASE_URL"] = base_url
        del env["DISCORD_WEBHOOK_URL"]
        done = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60)
        get_me_calls = len(telegram.calls_of("getMe"))
    assert done.returncode == 2, done.stderr
    assert "TELEGRAM_BOT_TOKEN" in done.stderr
    assert secrets_in(done.stdout + done.stderr, "123456:WRONG-token_for_this_bot_xyz") == []
    assert get_me_calls <= 1  # no retry storm


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/feed.xml", "javascript:alert(1)", "data:text/xml,<rss/>",
     "gopher://example.com/", "//example.com/feed.xml", "http:///no-host"],
)  # fmt: skip
def test_check_config_accepts_only_http_and_https_feed_urls(tmp_path: Path, url: str) -> None:
    """A feed URL with any scheme but http(s), or no host, is a configuration error naming the key."""
    config = write_config(tmp_path, {"Bad": url})
    report = check_config({"WIREWATCH_CONFIG_DIR": str(config)})
    assert not report.ok
    assert re.search(r"feeds\.toml: feeds\[0\]\.url: expected an http or https URL", " ".join(report.errors))


def test_the_docker_image_runs_as_a_non_root_user() -> None:
    """The Dockerfile switches to an unprivileged user before the service command."""
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines.index(f"USER {users[-1]}") < max(i for i, line in enumerate(lines) if line.startswith("CMD"))
