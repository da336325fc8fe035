"""The process environment for a child `wirewatch` run, without the developer's own Wirewatch settings."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The prefixes of every variable Wirewatch reads (see .env.example): a token or database path in the
# developer's shell must never leak into a test or benchmark run.
OWN_PREFIXES = ("TELEGRAM_", "DISCORD_", "WIREWATCH_")


def clean_environ() -> dict[str, str]:
    """A copy of os.environ without any TELEGRAM_, DISCORD_ or WIREWATCH_ variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}


def write_config(folder: Path, feeds: Mapping[str, str], *, interval_s: int | None = None) -> Path:
    """A config folder in `folder`: `feeds` (name → URL, polled every `interval_s`) and the shipped topic rules."""
    config = folder / "config"
    config.mkdir(exist_ok=True)
    every = f"interval_s = {interval_s}\n" if interval_s is not None else ""
    body = "".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n{every}\n' for name, url in feeds.items())
    (config / "feeds.toml").write_text(body, encoding="utf-8")
    shutil.copy(REPO / "config" / "topics.toml", config / "topics.toml")
    return config
