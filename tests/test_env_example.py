"""`.env.example` lists exactly the environment variables the code reads, and its values are valid."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b(?:(?:TELEGRAM|DISCORD|WIREWATCH)_[A-Z0-9_]*[A-Z0-9]|LOG_LEVEL)\b")


def _example() -> dict[str, str]:
    """The NAME=value lines of .env.example."""
    pairs = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def _names_in_code() -> set[str]:
    """Variable-like names in the source under bot/ (code, docstrings and messages alike)."""
    names: set[str] = set()
    for path in (REPO / "bot").rglob("*.py"):
        names.update(NAME.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_variable_in_code_is_in_env_example() -> None:
    """A variable the code mentions is documented in .env.example."""
    assert _names_in_code() - set(_example()) == set()


def test_every_variable_in_env_example_is_read_by_code() -> None:
    """.env.example lists nothing the code does not read."""
    assert set(_example()) - _names_in_code() == set()


def test_env_example_values_are_valid() -> None:
    """The example values load without error, and the token is a placeholder."""
    example = _example()
    settings = load_settings(example)
    assert settings.telegram_token == example["TELEGRAM_BOT_TOKEN"]
    assert "replace" in example["TELEGRAM_BOT_TOKEN"]
