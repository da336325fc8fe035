"""Benchmark: start-up of the `wirewatch` command: --help, import time, and `run` until its first poll.

- `wirewatch --help`: wall time of the whole child process (median of --repeat), beside a bare
  `python -c pass` so the interpreter's own start-up is visible.
- imports: `python -X importtime` of the CLI module (what --help loads) and of bot.app (what `run` loads):
  median total and the heaviest packages (each module's own import time, summed per top-level package).
- `wirewatch run` to first poll: from starting the child process to the loopback feed server receiving the
  first request (no token: the console sink; one feed).

The console script is used when it is installed next to this Python (.venv/bin/wirewatch), else
`python -m bot`, which runs the same `bot.cli:main`.

    .venv/bin/python bench/bench_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.environ import clean_environ, write_config
from tests.fakes import FeedServer

REPO = Path(__file__).resolve().parents[1]

FEED_PATH = "/startup.xml"
FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Start</title>'
    "<item><title>Weather</title><link>https://bench.example/w</link></item></channel></rss>"
)


def _env(**extra: str) -> dict[str, str]:
    """This environment without Wirewatch's variables, the repo importable, plus `extra`."""
    env = clean_environ()
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def _command() -> tuple[list[str], str]:
    """How to run the CLI: the installed console script, else `python -m bot`."""
    script = Path(sys.executable).parent / "wirewatch"
    if script.is_file():
        return [str(script)], "wirewatch"
    return [sys.executable, "-m", "bot"], "python -m bot"


def _wall(argv: list[str], repeat: int) -> float:
    """Median wall seconds of running `argv` to completion."""
    times = []
    for _ in range(repeat + 1):  # the first run warms the file cache and is dropped
        start = time.perf_counter()
        subprocess.run(argv, env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _import_times(module: str, repeat: int) -> tuple[float, list[tuple[str, float]]]:
    """Median total import seconds of `module`, and the median time per top-level package (self times summed)."""
    per_package: dict[str, list[float]] = defaultdict(list)
    totals = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        run: dict[str, float] = defaultdict(float)
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or line.count("|") != 2:
                continue
            head, _, name = line.split("|")
            self_us = head.removeprefix("import time:").strip()
            if not self_us.isdigit():
                continue  # the header line
            run[name.strip().split(".")[0]] += int(self_us) / 1e6
        totals.append(sum(run.values()))
        for package, seconds in run.items():
            per_package[package].append(seconds)
    # A package missing from a run counts as 0 there.
    heaviest = sorted(
        ((name, statistics.median(v + [0.0] * (repeat - len(v)))) for name, v in per_package.items()),
        key=lambda p: -p[1],
    )
    return statistics.median(totals), heaviest


def _run_to_first_poll(command: list[str], repeat: int) -> list[float]:
    """Seconds from starting `wirewatch run` to the feed server's first request, per run."""
    results = []
    with tempfile.TemporaryDirectory(prefix="wirewatch-startup-") as tmp, FeedServer() as feeds:
        feeds.route(FEED_PATH, body=FEED, validators=True)
        config = write_config(Path(tmp), {"Start": feeds.url(FEED_PATH)}, interval_s=900)
        for n in range(repeat):
            before = feeds.hits(FEED_PATH)
            env = _env(WIREWATCH_CONFIG_DIR=str(config), WIREWATCH_DB=str(Path(tmp) / f"s{n}.db"), LOG_LEVEL="WARNING")
            start = time.perf_counter()
            child = subprocess.Popen(
                [*command, "run"], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                deadline = start + 60
                while feeds.hits(FEED_PATH) == before:
                    if child.poll() is not None or time.perf_counter() > deadline:
                        raise SystemExit("wirewatch run exited or never polled the feed")
                    time.sleep(0.002)
                results.append(time.perf_counter() - start)
            finally:
                child.terminate()
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
    return results


def main() -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per measurement (median)")
    parser.add_argument("--top", type=int, default=8, help="heaviest imports listed per module")
    args = parser.parse_args()
    command, shown = _command()

    bare = _wall([sys.executable, "-c", "pass"], args.repeat)
    help_s = _wall([*command, "--help"], args.repeat)
    first_poll = _run_to_first_poll(command, max(3, args.repeat // 2))

    print(f"start-up ({shown}; median of {args.repeat} runs, {len(first_poll)} for run)\n")
    print(f"{'measurement':<44}{'seconds':>9}")
    print(f"{'python -c pass (interpreter alone)':<44}{bare:>9.3f}")
    print(f"{shown + ' --help':<44}{help_s:>9.3f}")
    print(f"{shown + ' run → first feed request':<44}{statistics.median(first_poll):>9.3f}")
    for module, label in (("bot.cli", "--help"), ("bot.app", "run")):
        total, heaviest = _import_times(module, args.repeat)
        print(f"\nimport {module} (what {label} loads): {total * 1000:.0f} ms in total")
        print("heaviest packages (own import time of their modules):")
        for name, seconds in heaviest[: args.top]:
            print(f"  {name:<40}{seconds * 1000:>7.1f} ms")
    print(f"\nreproduce: .venv/bin/python bench/bench_startup.py --repeat {args.repeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
