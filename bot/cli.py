"""The `wirewatch` command: run, poll, replay, demo, check-config.

Heavy modules are imported inside each command so `wirewatch --help` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import ConfigError, StoreError

EXIT_OK = 0
EXIT_FAILURE = 1  # something failed at run time (a store error, a missing replay file …)
EXIT_CONFIG = 2  # the configuration is wrong; the message says which file and key

DESCRIPTION = """\
Wirewatch polls news feeds, keeps the articles that match the topic's rules, groups every outlet's
report of the same event into one event, and keeps one alert per event in a Telegram channel and on
Discord, edited as more outlets report.
"""

EPILOG = """\
environment: TELEGRAM_BOT_TOKEN, TELEGRAM_CHANNEL, TELEGRAM_BASE_URL, TELEGRAM_ADMIN_IDS,
DISCORD_WEBHOOK_URL, WIREWATCH_CONFIG_DIR (default ./config), WIREWATCH_DB (default
./data/wirewatch.db), LOG_LEVEL. See .env.example. None is needed for poll, replay or demo.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "run",
        help="run the service: poll on schedule, answer chat commands, deliver alerts",
        description="Run the long-lived service. Without TELEGRAM_BOT_TOKEN alerts are printed to the console.",
    )

    poll = commands.add_parser(
        "poll",
        help="poll the feeds (one cycle with --once) and store what is new",
        description="Poll every configured feed; alerts are queued in the outbox for `run` to deliver.",
    )
    poll.add_argument("--once", action="store_true", help="one cycle over every feed, then exit")
    poll.add_argument("--json", action="store_true", help="print the cycle as one JSON document on stdout")

    replay = commands.add_parser(
        "replay",
        help="group a JSONL file of articles into events, offline",
        description=(
            "Run the event grouping over ARTICLES.jsonl (fields id, outlet, url, title, text, published) "
            "in file order, with the article times as the clock, and write one JSON line per event."
        ),
    )
    replay.add_argument("articles", type=Path, metavar="ARTICLES.jsonl")
    replay.add_argument("--out", type=Path, required=True, metavar="EVENTS.jsonl")
    replay.add_argument(
        "--no-filter",
        action="store_true",
        help="leave topics.toml out: group every article, with the built-in event windows",
    )

    demo = commands.add_parser(
        "demo",
        help="a short run against built-in sample feeds on loopback (no token, no internet)",
        description="Serve sample feeds on loopback, run the real service against them and print the alerts.",
    )
    demo.add_argument("--speed", type=float, default=1.0, help="run the demo's timeline faster (>1) or slower")

    health = commands.add_parser(
        "health",
        help="exit 0 when the last poll cycle finished recently (the Docker HEALTHCHECK)",
        description="Read the database and report whether the service is polling.",
    )
    health.add_argument("--max-age", type=float, default=3600.0, help="seconds since the last cycle (default 3600)")

    commands.add_parser(
        "check-config",
        help="validate config/feeds.toml, config/topics.toml and the environment",
        description="Validate the configuration; exit status 2 names the file and key that is wrong.",
    )
    return parser


def configure_logging(level_name: str) -> None:
    """Log to stderr at `level_name`; the HTTP clients' request logs stay off (their URLs carry the token)."""
    level = logging.getLevelName(level_name.upper())
    logging.basicConfig(
        level=level if isinstance(level, int) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wirewatch` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    try:
        if args.command == "run":
            return _run()
        if args.command == "poll":
            return _poll(once=args.once, as_json=args.json)
        if args.command == "replay":
            return _replay(args.articles, args.out, no_filter=args.no_filter)
        if args.command == "demo":
            return _demo(args.speed)
        if args.command == "check-config":
            return _check_config()
        if args.command == "health":
            return _health(args.max_age)
    except ConfigError as exc:
        print(f"wirewatch: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"wirewatch: database error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # argparse only allows the ones above


def _run() -> int:
    """`wirewatch run`."""
    import asyncio  # here, not at the top: asyncio (with ssl) is most of what `--help` would import

    from bot.app import run_service
    from bot.settings import load_settings

    settings = load_settings(os.environ)
    return asyncio.run(run_service(settings))


def _poll(*, once: bool, as_json: bool) -> int:
    """`wirewatch poll [--once] [--json]`."""
    import asyncio

    from bot.app import poll_forever, poll_once
    from bot.settings import load_settings

    settings = load_settings(os.environ)
    if not once:
        return asyncio.run(poll_forever(settings))
    report = asyncio.run(poll_once(settings))
    if as_json:
        json.dump(report.as_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for feed in report.feeds:
            detail = feed.error if feed.status == "error" else f"{feed.entries} entries, {feed.new} new"
            print(f"{feed.status:>12}  {feed.name}: {detail}")
        print(report.log_line())
    return EXIT_OK


def _replay(articles: Path, out: Path, *, no_filter: bool) -> int:
    """`wirewatch replay ARTICLES.jsonl --out EVENTS.jsonl [--no-filter]`."""
    from bot.core.tuning import DEFAULT_PARAMS
    from bot.replay import ProgressEvery, run_replay

    matcher = None
    params = DEFAULT_PARAMS
    if not no_filter:  # --no-filter leaves the topic file out: built-in rules of grouping, every article
        from bot.settings import Settings, config_dir_from, load_topics

        # Only the topic file matters offline: a token or webhook URL in the environment is not read.
        rules = load_topics(Settings(config_dir=config_dir_from(os.environ)).topics_path)
        matcher = rules.match_article
        params = rules.events.cluster_params()  # the live bot's event windows
    if not articles.is_file():
        print(f"wirewatch: replay: no such file: {articles}", file=sys.stderr)
        return EXIT_FAILURE
    report = ProgressEvery(lambda stats: print(stats.progress_line(), file=sys.stderr, flush=True))
    stats = run_replay(articles, out, matcher=matcher, params=params, errors=sys.stderr, progress=report)
    print(stats.describe(), file=sys.stderr)
    return EXIT_OK


def _demo(speed: float) -> int:
    """`wirewatch demo`."""
    import asyncio

    from bot.demo import run_demo

    return asyncio.run(run_demo(speed=speed, out=sys.stdout))


def _health(max_age_s: float) -> int:
    """`wirewatch health`: 0 when a poll cycle finished within `max_age_s` seconds, else 1."""
    from datetime import UTC, datetime

    from bot.adapters.store import Store
    from bot.settings import load_settings

    settings = load_settings(os.environ)
    if not settings.db_path.exists():
        print(f"unhealthy: no database at {settings.db_path} yet")
        return EXIT_FAILURE
    store = Store.open(settings.db_path)
    try:
        last = store.last_cycle()
    finally:
        store.close()
    if last is None:
        print("unhealthy: no poll cycle has finished yet")
        return EXIT_FAILURE
    age = (datetime.now(UTC) - last.finished).total_seconds()
    if age > max_age_s:
        print(f"unhealthy: the last poll cycle finished {age:.0f} s ago")
        return EXIT_FAILURE
    print(f"healthy: last cycle {age:.0f} s ago, {last.feeds} feeds, {last.errors} failed")
    return EXIT_OK


def _check_config() -> int:
    """`wirewatch check-config`."""
    from bot.check_config import check_config

    report = check_config(os.environ)
    for line in report.lines:
        print(line)
    for error in report.errors:
        print(f"wirewatch: configuration error: {error}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_CONFIG


if __name__ == "__main__":  # pragma: no cover - `python -m bot.cli`
    sys.exit(main())
