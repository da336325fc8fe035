"""`wirewatch poll --once --json` end to end: the real CLI process against feeds served on loopback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.environ import clean_environ, write_config
from tests.fakes import FeedServer


def poll_once(config: Path, db: Path) -> dict:
    """Run `wirewatch poll --once --json` as a separate process and return its JSON document."""
    env = clean_environ()
    env |= {"WIREWATCH_CONFIG_DIR": str(config), "WIREWATCH_DB": str(db), "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "poll", "--once", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.shared
def test_real_feeds_poll_ok_then_not_modified(shared_dir: Path, tmp_path: Path) -> None:
    """The 12 captured feeds all come back ok with every entry stored; a second poll is all 304s."""
    folder = shared_dir / "data" / "feeds" / "news-2026-02"
    files = sorted(folder.glob("*.xml"))
    assert len(files) == 12
    with FeedServer() as server:
        feeds = {}
        for path in files:
            server.route(f"/{path.name}", body=path.read_bytes(), validators=True)
            feeds[path.stem] = server.url(f"/{path.name}")
        config = write_config(tmp_path, feeds)
        first = poll_once(config, tmp_path / "ww.db")
        assert [f["status"] for f in first["feeds"]] == ["ok"] * 12, first
        assert first["entries"] > 400 and first["new"] == first["entries"] - _duplicates(first)
        conn = sqlite3.connect(tmp_path / "ww.db")
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        linked = conn.execute("SELECT count(DISTINCT article_id) FROM article_feeds").fetchone()[0]
        assert stored == linked == first["new"]
        second = poll_once(config, tmp_path / "ww.db")
        assert [f["status"] for f in second["feeds"]] == ["not_modified"] * 12
        assert (second["new"], second["entries"]) == (0, 0)


def _duplicates(report: dict) -> int:
    """Entries that appeared in more than one feed are new only once; the captured feeds have none."""
    return 0


def test_broken_feeds_are_reported_and_the_others_go_on(tmp_path: Path) -> None:
    """A 404, a 500, an HTML page and garbage each fail with a reason; the good feed is stored."""
    recent = format_datetime(datetime.now(UTC) - timedelta(hours=1))  # inside the 24 h backlog window
    good = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Good</title>'
        "<item><title>Xi Jinping hosts Kim Jong Un in Beijing</title><link>https://good.example/a</link>"
        f"<pubDate>{recent}</pubDate>"
        "<description>North Korea and China pledged closer ties.</description></item>"
        "</channel></rss>"
    )
    with FeedServer() as server:
        server.route("/good.xml", body=good)
        server.route("/gone.xml", body="nope", status=404)
        server.route("/down.xml", body="oops", status=500)
        server.route(
            "/page.xml", body="<html><head><title>Home</title></head><body>hi</body></html>", content_type="text/html"
        )
        server.route("/junk.xml", body=bytes(range(256)) * 4, content_type="application/octet-stream")
        names = ["good", "gone", "down", "page", "junk"]
        config = write_config(tmp_path, {n: server.url(f"/{n}.xml") for n in names})
        report = poll_once(config, tmp_path / "ww.db")
    by_name = {f["name"]: f for f in report["feeds"]}
    assert by_name["good"]["status"] == "ok" and by_name["good"]["new"] == 1
    assert (by_name["gone"]["status"], by_name["gone"]["http_status"]) == ("error", 404)
    assert "404" in by_name["gone"]["error"]
    assert by_name["down"]["http_status"] == 500
    assert "HTML" in by_name["page"]["error"]
    assert by_name["junk"]["status"] == "error" and by_name["junk"]["error"]
    assert report["matched"] == 1 and report["events"] == 1
    conn = sqlite3.connect(tmp_path / "ww.db")
    failing = dict(conn.execute("SELECT name, consecutive_failures FROM feeds").fetchall())
    assert failing == {"good": 0, "gone": 1, "down": 1, "page": 1, "junk": 1}
