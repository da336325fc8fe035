"""The replay contract: JSONL in, one JSONL line per event out, malformed lines skipped by number."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import pytest

from bot.models import Article, TopicMatch
from bot.replay import REPLAY_BATCH, ProgressEvery, ReplayStats, normalize_text, parse_time, run_replay
from tests.test_cluster import (
    OTHER_OUTLET,
    OTHER_OUTLET_TITLE,
    REPRINT,
    REPRINT_TITLE,
    RESERVED_TAIL,
    UNRELATED,
    UNRELATED_TITLE,
    WIRE,
)

FIELDS = {"event_id", "article_ids", "outlets", "headline", "summary", "follows", "matched_terms"}


def _write(path: Path, lines: list[str]) -> Path:
    """Write raw lines."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rec(id_: str, title: str, text: str, published: str | None, outlet: str = "Outlet") -> str:
    """One input line."""
    rec = {"id": id_, "outlet": outlet, "url": f"https://x.example/{id_}", "title": title, "text": text}
    if published is not None:
        rec["published"] = published
    return json.dumps(rec)


def _out(path: Path) -> list[dict]:
    """Read replay output."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_replay_groups_and_reports_malformed_lines(tmp_path: Path) -> None:
    """Three reports of one event and an unrelated one; bad lines are named by number and skipped."""
    src = _write(
        tmp_path / "in.jsonl",
        [
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z", "Meridian"),
            "{not json",
            _rec("paper", REPRINT_TITLE, REPRINT, "2031-05-04T11:00:00+03:00", "Paper"),
            json.dumps({"outlet": "no id"}),
            "",
            json.dumps(["a", "list"]),
            _rec("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, None, "Other"),
            json.dumps({"id": "badtext", "text": 5}),
            _rec("sport", UNRELATED_TITLE, UNRELATED, "not a date", "Sports"),
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z", "Meridian"),
        ],
    )
    out = tmp_path / "out.jsonl"
    report = io.StringIO()
    stats = run_replay(src, out, matcher=None, errors=report)
    assert [n for n, _ in stats.errors] == [2, 4, 6, 8]
    assert [line.split(":")[1] for line in report.getvalue().splitlines()] == ["2", "4", "6", "8"]
    assert "malformed lines skipped" in stats.describe()
    assert [n for n, _ in stats.warnings] == [9]
    assert (stats.articles, stats.matched, stats.duplicates, stats.events) == (5, 5, 1, 2)
    events = _out(out)
    assert all(set(e) == FIELDS for e in events)
    fire, sport = events
    assert fire["article_ids"] == ["wire", "paper", "other"]
    assert fire["outlets"] == ["Meridian", "Paper", "Other"]
    assert fire["follows"] is None and sport["follows"] is None
    assert sport["article_ids"] == ["sport"]
    assert fire["headline"] and fire["summary"]


def test_matcher_filters_and_supplies_terms(tmp_path: Path) -> None:
    """Only matching articles are clustered; their matched terms reach the event."""
    src = _write(
        tmp_path / "in.jsonl",
        [
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z"),
            _rec("sport", UNRELATED_TITLE, UNRELATED, "2031-05-04T09:00:00Z"),
        ],
    )

    def matcher(a: Article) -> TopicMatch:
        """Matches articles that mention the harbour."""
        return TopicMatch(matched="harbour" in a.text, terms=("harbour",), reason="test")

    out = tmp_path / "out.jsonl"
    stats = run_replay(src, out, matcher=matcher)
    assert (stats.articles, stats.matched) == (2, 1)
    (event,) = _out(out)
    assert event["article_ids"] == ["wire"] and event["matched_terms"] == ["harbour"]


def test_replay_is_deterministic_whatever_the_batch_size(tmp_path: Path) -> None:
    """Two runs over the same file write identical output, and so do runs that batch the articles differently."""
    src = _write(
        tmp_path / "in.jsonl",
        [
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z", "Meridian"),
            _rec("sport", UNRELATED_TITLE, UNRELATED, "2031-05-04T09:00:00Z", "Sports"),
            _rec("paper", REPRINT_TITLE, REPRINT, "2031-05-04T10:00:00Z", "Paper"),
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z", "Meridian"),
            _rec("other", OTHER_OUTLET_TITLE, OTHER_OUTLET, "2031-05-04T11:00:00Z", "Other"),
            # The paper re-serves its article under a new id with a line added: reserved, the event unchanged
            # (though the index counts its words into the centroid).
            _rec("paper-again", REPRINT_TITLE, REPRINT + RESERVED_TAIL, "2031-05-04T12:00:00Z", "Paper"),
        ],
    )
    outputs = []
    for n, batch_size in enumerate((REPLAY_BATCH, REPLAY_BATCH, 1, 2, 3)):
        out = tmp_path / f"o{n}.jsonl"
        stats = run_replay(src, out, matcher=None, batch_size=batch_size)
        assert (stats.events, stats.duplicates) == (2, 2)
        outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    fire = _out(tmp_path / "o0.jsonl")[0]
    assert fire["article_ids"] == ["wire", "paper", "other"] and fire["headline"] and fire["summary"]
    with pytest.raises(ValueError, match="batch_size"):
        run_replay(src, tmp_path / "bad.jsonl", matcher=None, batch_size=0)


def test_empty_input_gives_empty_output(tmp_path: Path) -> None:
    """No lines, no events, no exception."""
    src = _write(tmp_path / "in.jsonl", [])
    stats = run_replay(src, tmp_path / "out.jsonl", matcher=None)
    assert stats.events == 0 and (tmp_path / "out.jsonl").read_text() == ""


def _reference_normalize(text: str) -> str:
    """normalize_text() without shortcuts: both substitutions always run."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text.replace("\r\n", "\n"))
    text = re.sub(r"[ \t\r\f\v\u00a0\u2000-\u200b\u3000]+", " ", text)
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def test_normalisation_shortcuts_match_the_plain_rules() -> None:
    """Random mixes of controls, odd blanks, curly quotes, accents and a lone surrogate: the same text."""
    pieces = [*"ab \t\n\r\x00\x0b\x0c\x1f\x7f", "\r\n", "\u00a0", "\u2000", "\u2009", "\u200b", "\u200c", "\u3000"]
    pieces += ["’", "“", "é", "北", "\ud800", "  "]
    rng = random.Random(11)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert normalize_text(text) == _reference_normalize(text), repr(text)


def test_text_normalisation_and_times() -> None:
    """Whitespace runs collapse, blank lines go; ISO times become aware UTC, junk becomes None."""
    assert normalize_text("a \t b\r\n\n\n  c\x00d ") == "a b\nc d"
    # Each kind of blank alone is found, beside other non-ASCII letters; a lone surrogate passes through.
    assert normalize_text("a\tb") == normalize_text("a\x0bb") == "a b"
    assert normalize_text("China’s\u00a0leader") == "China’s leader"
    assert normalize_text("é\u2009x\u3000y\u200bz") == "é x y z"
    assert normalize_text("a\ud800b ’") == "a\ud800b ’"
    t = parse_time("2031-05-04T11:00:00+03:00")
    assert t is not None and t.hour == 8 and t.utcoffset() is not None
    assert parse_time("2031-05-04T08:00:00") == parse_time("2031-05-04T08:00:00Z")
    assert parse_time("yesterday") is None and parse_time(None) is None and parse_time(5) is None


@pytest.mark.shared
def test_seeds_make_two_events_with_a_follow_up(shared_dir: Path, tmp_path: Path) -> None:
    """The seed articles: the wire story and its reprint together; the reply alone, following it."""
    out = tmp_path / "seeds.jsonl"
    run_replay(shared_dir / "seeds" / "articles.jsonl", out, matcher=None)
    events = _out(out)
    assert len(events) == 2
    first, second = events
    assert len(first["article_ids"]) == 2 and len(first["outlets"]) == 2
    assert len(second["article_ids"]) == 1
    assert second["follows"] == first["event_id"]
    for ev in events:
        assert ev["summary"] and len(ev["summary"]) <= 420
        assert " s " not in ev["summary"] and "Telegram" not in ev["summary"] and "PUBLISHED" not in ev["summary"]


def test_progress_sees_the_stats_as_lines_are_read(tmp_path: Path) -> None:
    """run_replay reports lines, articles and events so far as it reads; the summary, not progress, ends it."""
    src = _write(
        tmp_path / "in.jsonl",
        [
            _rec("wire", "", WIRE, "2031-05-04T08:00:00Z", "Meridian"),
            "{not json",
            _rec("sport", UNRELATED_TITLE, UNRELATED, "2031-05-04T09:00:00Z", "Sports"),
            _rec("paper", REPRINT_TITLE, REPRINT, "2031-05-04T10:00:00Z", "Paper"),
        ],
    )
    seen: list[tuple[int, int, int]] = []
    stats = run_replay(
        src,
        tmp_path / "out.jsonl",
        matcher=None,
        batch_size=2,
        progress=lambda s: seen.append((s.lines, s.articles, s.events)),
    )
    # As each line is read: the malformed second line counts as read, the events as of the last batch.
    assert seen == [(1, 0, 0), (2, 1, 0), (3, 1, 0), (4, 2, 2)]
    assert "4 lines read, 2 events so far" in stats.progress_line() and stats.events == 2


def test_progress_every_few_seconds_reports_at_most_once_an_interval() -> None:
    """The CLI's reporter stays quiet for the first interval, then passes on one report per interval."""
    now = [100.0]
    reported: list[int] = []
    progress = ProgressEvery(lambda s: reported.append(s.lines), interval_s=5.0, clock=lambda: now[0])
    for t, lines in [(101, 1), (104.9, 2), (105, 3), (107, 4), (110.5, 5), (111, 6)]:
        now[0] = t
        progress(ReplayStats(lines=lines))
    assert reported == [3, 5]
