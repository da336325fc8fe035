"""The layering rules of DESIGN.md, checked on the code itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"
IO_MODULES = ("aiohttp", "httpx", "telegram", "sqlite_utils", "sqlite3", "apscheduler", "discord")


def test_importing_core_pulls_in_no_network_chat_or_database_module() -> None:
    """`bot.core` is pure: importing all of it loads no HTTP client, Telegram or SQLite module."""
    code = (
        "import sys, pkgutil, importlib, bot.core\n"
        "for m in pkgutil.iter_modules(bot.core.__path__): importlib.import_module('bot.core.' + m.name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {IO_MODULES!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_the_store_imports_sqlite_utils() -> None:
    """One module owns SQL: no other module under bot/ imports sqlite_utils or sqlite3."""
    offenders = []
    for path in BOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("sqlite_utils", "sqlite3") for n in names):
                offenders.append(path.relative_to(BOT).as_posix())
    assert sorted(set(offenders)) == ["adapters/store.py"]


def test_core_never_reads_the_clock() -> None:
    """The clock is a parameter in bot/core: no datetime.now(), utcnow() or time.time() there."""
    bad = []
    for path in (BOT / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", ".utcnow(", "time.time(", "date.today("):
            if needle in text:
                bad.append(f"{path.name}: {needle}")
    assert bad == []


def _public_definitions(body: list[ast.stmt]) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """Module-level functions and classes, and the methods of those classes (not nested helpers)."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            found.append(node)
            if isinstance(node, ast.ClassDef):
                found.extend(_public_definitions(node.body))
    return found


def test_every_public_function_has_a_docstring() -> None:
    """A one-line docstring on every public function, class and method under bot/."""
    missing = []
    for path in BOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _public_definitions(tree.body):
            if ast.get_docstring(node) is None:
                missing.append(f"{path.relative_to(BOT).as_posix()}:{node.lineno} {node.name}")
    assert missing == []
