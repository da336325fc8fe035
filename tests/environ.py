"""The process environment for a child `wirewatch` run, without the developer's own Wirewatch settings."""

from __future__ import annotations

import os

# The prefixes of every variable Wirewatch reads (see .env.example): a token or database path in the
# developer's shell must never leak into a test or benchmark run.
OWN_PREFIXES = ("TELEGRAM_", "DISCORD_", "WIREWATCH_")


def clean_environ() -> dict[str, str]:
    """A copy of os.environ without any TELEGRAM_, DISCORD_ or WIREWATCH_ variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
