"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

# The end-to-end fixtures (botapi, newsroom) live beside their helpers in tests/e2e.py.
pytest_plugins = ["tests.e2e"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """The read-only ../shared folder beside the checkout; the test is skipped when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED
