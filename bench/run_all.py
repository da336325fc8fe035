"""Run every benchmark in bench/ one after another, print each one's table, then a summary.

Each benchmark runs as its own child process (so one's imports, threads and memory never skew the next),
from the repo root, with its output passed through as it is printed. `make bench` calls this.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (name, arguments after the interpreter, extra arguments with --quick)
BENCHES: tuple[tuple[str, list[str], list[str]], ...] = (
    ("parse", ["bench/bench_parse.py"], ["--repeat", "3"]),
    ("assign", ["-m", "bench.bench_assign"], ["--quick"]),
    ("poll_cycle", ["bench/bench_poll_cycle.py"], ["--repeat", "1"]),
    ("latency", ["bench/bench_latency.py"], ["--items", "10"]),
    ("messages", ["bench/bench_messages.py"], []),
    ("startup", ["bench/bench_startup.py"], ["--repeat", "5"]),
)


def main() -> int:
    """Run the benchmarks; exit status 1 when any of them failed or missed its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (fewer repeats and sizes)")
    parser.add_argument("--only", nargs="+", choices=[b[0] for b in BENCHES], help="run only these")
    args = parser.parse_args()
    summary: list[tuple[str, int, float]] = []
    for name, argv, quick in BENCHES:
        if args.only and name not in args.only:
            continue
        command = [sys.executable, *argv, *(quick if args.quick else [])]
        print(f"\n=== {name}: {' '.join(['python', *command[1:]])}", flush=True)
        start = time.perf_counter()
        status = subprocess.run(command, cwd=REPO, check=False).returncode
        summary.append((name, status, time.perf_counter() - start))
    print("\n=== summary")
    print(f"{'benchmark':<12}{'status':>8}{'seconds':>9}")
    for name, status, seconds in summary:
        word = "ok" if status == 0 else f"exit {status}"
        print(f"{name:<12}{word:>8}{seconds:>9.0f}")
    print(f"\nreproduce: .venv/bin/python bench/run_all.py{' --quick' if args.quick else ''}")
    return 0 if all(status == 0 for _, status, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
