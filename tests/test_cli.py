"""The `wirewatch` command as a user runs it: help, check-config, replay, demo."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from tests.environ import clean_environ, write_config

REPO = Path(__file__).resolve().parents[1]


def wirewatch(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process with a clean Wirewatch environment."""
    base = clean_environ()
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )


def subcommands() -> list[str]:
    """The names of every subcommand the parser knows."""
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)  # type: ignore[arg-type]


def test_help_lists_every_command() -> None:
    """`wirewatch --help` exits 0 and names each subcommand."""
    done = wirewatch("--help")
    assert done.returncode == 0
    for name in subcommands():
        assert name in done.stdout


def test_every_command_is_documented_in_the_readme() -> None:
    """A command added to the CLI must be described in README's command table."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in subcommands():
        assert f"`wirewatch {name}" in readme, name


def test_check_config_accepts_the_shipped_config() -> None:
    """The shipped config/ validates, with exit status 0."""
    done = wirewatch("check-config", env={"WIREWATCH_CONFIG_DIR": str(REPO / "config")})
    assert done.returncode == 0, done.stderr
    assert "events: closed after 12 h without a new report; kept 14 days" in done.stdout


def test_check_config_reports_every_bad_source_before_exiting_2(tmp_path: Path) -> None:
    """A bad variable and a bad feeds.toml are both named (file and key) in one run; the topic is still summarised."""
    config = write_config(tmp_path, {"X": "ftp://x.example/feed"})
    done = wirewatch("check-config", env={"WIREWATCH_CONFIG_DIR": str(config), "LOG_LEVEL": "LOUD"})
    assert done.returncode == 2
    assert "environment LOG_LEVEL" in done.stderr and "feeds.toml" in done.stderr and "feeds[0].url" in done.stderr
    assert "topic:" in done.stdout and "config NOT OK: 2 error(s)" in done.stdout


def test_bad_environment_value_is_named(tmp_path: Path) -> None:
    """A non-numeric admin id names the variable and exits 2."""
    done = wirewatch("check-config", env={"WIREWATCH_CONFIG_DIR": str(REPO / "config"), "TELEGRAM_ADMIN_IDS": "12,abc"})
    assert done.returncode == 2 and "TELEGRAM_ADMIN_IDS" in done.stderr


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_webhook_url_without_id_and_token_is_refused_alike(command: str, tmp_path: Path) -> None:
    """check-config and run refuse the same webhook URL with the same message (exit 2), the token not shown."""
    env = {
        "WIREWATCH_CONFIG_DIR": str(REPO / "config"),
        "WIREWATCH_DB": str(tmp_path / "ww.db"),
        "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/Zm9vYmFyc2VjcmV0",
    }
    done = wirewatch(command, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "DISCORD_WEBHOOK_URL[0]" in done.stderr and "numeric webhook id" in done.stderr
    assert "Zm9vYmFyc2VjcmV0" not in done.stdout + done.stderr


def test_replay_reports_a_malformed_line_and_goes_on(tmp_path: Path) -> None:
    """A broken JSON line is reported with its line number; the good lines still become events."""
    lines = [
        {
            "id": "1",
            "outlet": "Wire",
            "url": "https://w.example/1",
            "title": "Xi Jinping meets Kim Jong Un in Beijing",
            "text": "North Korea's leader arrived in Beijing for talks with China's president.",
            "published": "2026-03-01T08:00:00Z",
        },
        "{not json",
        {
            "id": "2",
            "outlet": "Paper",
            "url": "https://p.example/2",
            "title": "Kim Jong-un in Beijing for talks with Xi",
            "text": "The North Korean leader met Chinese President Xi Jinping in the Chinese capital.",
            "published": "2026-03-01T09:00:00Z",
        },
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = wirewatch("replay", str(src), "--out", str(out), "--no-filter")
    assert done.returncode == 0, done.stderr
    assert "in.jsonl:2: skipped" in done.stderr  # file:line, as compilers report it
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(i for e in events for i in e["article_ids"]) == ["1", "2"]
    assert set(events[0]) >= {"event_id", "article_ids", "outlets", "headline", "summary", "follows", "matched_terms"}


def test_replay_uses_the_topics_event_windows(tmp_path: Path) -> None:
    """With the topic rules, replay closes events after the topic's quiet_hours, as the live bot does."""
    first = {
        "id": "1",
        "outlet": "Wire",
        "url": "https://w.example/1",
        "title": "Xi Jinping meets Kim Jong Un in Beijing",
        "text": "North Korea's leader Kim Jong Un arrived in Beijing for talks with China's president Xi Jinping.",
        "published": "2026-03-01T08:00:00Z",
    }
    later = first | {"id": "2", "outlet": "Paper", "url": "https://p.example/2", "published": "2026-03-01T11:00:00Z"}
    later["title"] = "Kim Jong Un in Beijing for talks with Xi Jinping"
    later["text"] = "The North Korean leader Kim Jong Un met China's Xi Jinping in Beijing, state media in both said."
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(first) + "\n" + json.dumps(later) + "\n", encoding="utf-8")
    config = tmp_path / "config"
    config.mkdir()  # replay reads topics.toml only
    topics = (REPO / "config" / "topics.toml").read_text(encoding="utf-8")
    assert "\nquiet_hours = 12\n" in topics  # the shipped file states the default
    groups = {}
    for hours in (12, 2):
        (config / "topics.toml").write_text(
            topics.replace("\nquiet_hours = 12\n", f"\nquiet_hours = {hours}\n"), encoding="utf-8"
        )
        out = tmp_path / "out.jsonl"
        done = wirewatch("replay", str(src), "--out", str(out), env={"WIREWATCH_CONFIG_DIR": str(config)})
        assert done.returncode == 0, done.stderr
        groups[hours] = [json.loads(line)["article_ids"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert groups[12] == [["1", "2"]]  # three hours apart: one event under the shipped 12-hour window
    assert groups[2] == [["1"], ["2"]]


def test_replay_reads_no_bot_settings(tmp_path: Path) -> None:
    """Offline replay with the topic rules runs whatever token or webhook URL the environment holds."""
    src = tmp_path / "in.jsonl"
    src.write_text("", encoding="utf-8")
    env = {"WIREWATCH_CONFIG_DIR": str(REPO / "config"), "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/x"}
    done = wirewatch("replay", str(src), "--out", str(tmp_path / "out.jsonl"), env=env)
    assert done.returncode == 0, done.stderr


def test_replay_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing input file is named, with a non-zero exit status."""
    done = wirewatch("replay", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode != 0 and "nope.jsonl" in done.stderr


@pytest.mark.slow
def test_demo_posts_edits_and_threads_a_follow_up() -> None:
    """`wirewatch demo` (sped up) posts the story, edits it as outlets join, and replies with the follow-up."""
    done = wirewatch("demo", "--speed", "4", timeout=90)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("posted") >= 2 and "edited" in out
    assert re.search(r"alert #2 posted, reply to #1", out)
    assert "Tokyo stocks" not in out.split("=== demo finished")[0].split(">>>")[-1]
    assert "every alert delivered" in out


def test_health_reports_the_last_cycle(tmp_path: Path) -> None:
    """`wirewatch health` fails before any cycle and passes right after `poll --once` stored one."""
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(REPO / "config" / "topics.toml", config / "topics.toml")
    (config / "feeds.toml").write_text(
        '[[feeds]]\nname = "Closed"\nurl = "http://127.0.0.1:9/feed.xml"\n', encoding="utf-8"
    )
    env = {"WIREWATCH_CONFIG_DIR": str(config), "WIREWATCH_DB": str(tmp_path / "ww.db")}
    before = wirewatch("health", env=env)
    assert before.returncode == 1 and "no database" in before.stdout
    assert wirewatch("poll", "--once", env=env).returncode == 0
    after = wirewatch("health", env=env)
    assert after.returncode == 0 and "1 failed" in after.stdout
