"""The SQLite store: the only module that imports sqlite_utils or writes SQL.

Rows never leave this module: callers get the frozen dataclasses of bot.models (or small ones defined
here). Every datetime is stored as an ISO 8601 UTC string, which sorts in time order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.errors import StoreError
from bot.models import Article, Delivery, Event, Feed, FeedHealth, Report, TopicMatch

migrations = sqlite_utils.Migrations("wirewatch")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Create the first schema: feeds, articles, events, outbox, subscribers, cycles."""
    db.executescript(
        """
        CREATE TABLE feeds (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            effective_url TEXT,              -- where a permanent redirect pointed; polled instead of url
            etag TEXT,
            last_modified TEXT,
            last_status TEXT,                -- ok | not_modified | error
            last_http_status INTEGER,
            last_success TEXT,
            last_error TEXT,
            last_error_kind TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            failing_since TEXT,
            next_poll TEXT,
            first_polled TEXT,
            entries_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            guid TEXT,
            outlet TEXT NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            published TEXT,
            first_seen TEXT NOT NULL,
            matched INTEGER NOT NULL,
            terms TEXT NOT NULL,              -- JSON list of matched terms
            reason TEXT NOT NULL,
            backlog INTEGER NOT NULL DEFAULT 0, -- stored but too old to alert on first sight
            event_id TEXT
        );
        CREATE INDEX articles_guid ON articles(guid);
        CREATE INDEX articles_event ON articles(event_id);
        CREATE INDEX articles_seen ON articles(first_seen);
        CREATE TABLE article_feeds (
            article_id TEXT NOT NULL,
            feed_name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (article_id, feed_name)
        );
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            headline TEXT NOT NULL,
            summary TEXT NOT NULL,
            follows TEXT,
            matched_terms TEXT NOT NULL,      -- JSON list
            first_seen TEXT NOT NULL,
            updated TEXT NOT NULL,
            revision INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX events_updated ON events(updated);
        CREATE INDEX events_first_seen ON events(first_seen);
        CREATE TABLE event_reports (
            event_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            outlet TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            published TEXT,
            seen TEXT NOT NULL,
            PRIMARY KEY (event_id, position)
        );
        CREATE TABLE deliveries (
            sink TEXT NOT NULL,
            event_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            delivered_revision INTEGER NOT NULL DEFAULT 0,
            message_id TEXT,
            reply_to TEXT,
            state TEXT NOT NULL,              -- pending | sent | gone | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt TEXT NOT NULL,
            last_sent TEXT,
            last_error TEXT,
            created TEXT NOT NULL,
            PRIMARY KEY (sink, event_id)
        );
        CREATE INDEX deliveries_due ON deliveries(state, next_attempt);
        CREATE TABLE subscribers (
            chat_id INTEGER PRIMARY KEY,
            since TEXT NOT NULL
        );
        CREATE TABLE cycles (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started TEXT NOT NULL,
            finished TEXT NOT NULL,
            feeds INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            entries INTEGER NOT NULL,
            new INTEGER NOT NULL,
            matched INTEGER NOT NULL,
            events INTEGER NOT NULL
        );
        """
    )


@migrations()
def m002_feed_retry_after(db: sqlite_utils.Database) -> None:
    """Remember until when a feed's server asked (Retry-After on a 429/503) not to be polled."""
    db.execute("ALTER TABLE feeds ADD COLUMN retry_after_until TEXT")


@dataclass(frozen=True, slots=True)
class FeedState:
    """What polling needs to know about a feed before fetching it."""

    name: str
    poll_url: str  # the configured URL, or where a permanent redirect moved it
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    next_poll: datetime | None
    first_polled: datetime | None  # None until the feed's first successful poll
    retry_after_until: datetime | None = None  # the server asked (Retry-After) not to be polled before this


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """The counts of one finished poll cycle."""

    started: datetime
    finished: datetime
    feeds: int
    errors: int
    entries: int
    new: int
    matched: int
    events: int


def _iso(moment: datetime | None) -> str | None:
    """Store a datetime as an ISO 8601 UTC string (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store; every datetime must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    """Read an ISO 8601 string written by _iso."""
    return datetime.fromisoformat(value) if value else None


def _req_dt(value: str) -> datetime:
    """Read an ISO 8601 string that the schema says is never NULL."""
    return datetime.fromisoformat(value)


def _apply_migrations(db: sqlite_utils.Database) -> None:
    """Apply the pending migrations, also when other processes open the same old database at once.

    sqlite-utils reads the pending list before it takes the write lock, so two processes upgrading one
    database (`run` and the Docker health check after an upgrade) can both try a migration: the second
    fails ("duplicate column name") once the first has applied and recorded it. Reading the list again
    then finds it done; a migration that fails for any other reason fails again and is raised.
    """
    attempts = 3  # each retry follows another process's migration: more than three at once is not seen
    for attempt in range(attempts):
        try:
            migrations.apply(db)
            return
        except sqlite3.DatabaseError:
            if not migrations.pending(db):
                return  # another process applied what failed here, and the rest
            if attempt == attempts - 1:
                raise


class Store:
    """The Wirewatch database: feeds' health, articles, events, the outbox, subscribers and cycles."""

    def __init__(self, db: sqlite_utils.Database, path: str) -> None:
        self._db = db
        self.path = path

    # -- opening and transactions ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating when needed) the database at `path` (":memory:" allowed) and apply migrations."""
        location = str(path)
        try:
            if location == ":memory:":
                db = sqlite_utils.Database(memory=True)
            else:
                Path(location).parent.mkdir(parents=True, exist_ok=True)
                new_file = not Path(location).exists()
                db = sqlite_utils.Database(location)
                if new_file:
                    # The database holds subscriber ids and delivery state: not for other users.
                    Path(location).chmod(0o600)
                db.enable_wal()
            # Another process (a second `poll --once`) may hold the write lock briefly: wait, don't fail.
            db.execute("PRAGMA busy_timeout = 5000")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            _apply_migrations(db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {location}: {exc}") from exc
        return cls(db, location)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one transaction (nested calls become savepoints); errors become StoreError."""
        conn = self._db.conn
        try:
            if conn.in_transaction:
                with self._db.atomic():  # a savepoint inside the open transaction
                    yield
                return
            # IMMEDIATE takes the write lock up front, so busy_timeout applies: a deferred transaction that
            # reads, then writes fails at once with "database is locked" while another process writes.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"database {self.path}: {exc}") from exc

    def _write(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one write statement; sqlite errors (locked, read-only, disk full) become StoreError."""
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path}: {exc}") from exc

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run one read query and return its rows as dicts."""
        try:
            return list(self._db.query(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path}: {exc}") from exc

    def _rows_with_ids(self, sql: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Run `sql`, whose "{}" stands for a list of placeholders, over `ids` in chunks."""
        wanted = list(dict.fromkeys(ids))
        rows: list[dict[str, Any]] = []
        # SQLite limits bound parameters; 500 per query stays far below it.
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows.extend(self._rows(sql.format(",".join("?" * len(chunk))), chunk))
        return rows

    def integrity_ok(self) -> bool:
        """Return True when `PRAGMA integrity_check` reports no problem."""
        return self._rows("PRAGMA integrity_check")[0].get("integrity_check") == "ok"

    # -- feeds ----------------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[Feed]) -> None:
        """Make sure every configured feed has a row; a changed URL resets its cached validators.

        A changed URL also drops the old server's Retry-After and the next poll time it pushed back: the
        new address is polled at the next cycle. A renamed feed (a new name for the URL of a feed no longer
        configured) keeps them: the server's request was about the address, not the name.
        """
        feeds = list(feeds)
        # Called every poll cycle: one read, and the write lock only when a feed is new or moved.
        known = {r["name"]: r["url"] for r in self._rows("SELECT name, url FROM feeds")}
        changed = [feed for feed in feeds if known.get(feed.name) != feed.url]
        if not changed:
            return
        configured = {feed.name for feed in feeds}
        with self.transaction():
            for feed in changed:
                if feed.name not in known:
                    self._write("INSERT INTO feeds (name, url) VALUES (?, ?)", [feed.name, feed.url])
                    old_names = [name for name, url in known.items() if url == feed.url and name not in configured]
                    if old_names:
                        self._carry_retry_after(old_names, feed.name)
                else:
                    self._write(
                        "UPDATE feeds SET url = ?, effective_url = NULL, etag = NULL, last_modified = NULL,"
                        " first_polled = NULL, retry_after_until = NULL, next_poll = NULL WHERE name = ?",
                        [feed.url, feed.name],
                    )

    def _carry_retry_after(self, old_names: Sequence[str], name: str) -> None:
        """Give feed `name` the latest Retry-After hold among the feeds it was called before, if any."""
        held = self._rows_with_ids(
            "SELECT retry_after_until, next_poll FROM feeds WHERE name IN ({}) AND retry_after_until IS NOT NULL",
            old_names,
        )
        if held:
            latest = max(held, key=lambda row: _req_dt(row["retry_after_until"]))
            self._write(
                "UPDATE feeds SET retry_after_until = ?, next_poll = ? WHERE name = ?",
                [latest["retry_after_until"], latest["next_poll"], name],
            )

    def feed_state(self, name: str) -> FeedState:
        """Return the polling state of one feed (sync_feeds must have run)."""
        return self.feed_states([name])[name]

    def feed_states(self, names: Iterable[str]) -> dict[str, FeedState]:
        """The polling state of each named feed, read in one query (sync_feeds must have run)."""
        wanted = list(dict.fromkeys(names))
        states = {
            row["name"]: FeedState(
                name=row["name"],
                poll_url=row["effective_url"] or row["url"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                consecutive_failures=row["consecutive_failures"],
                next_poll=_dt(row["next_poll"]),
                first_polled=_dt(row["first_polled"]),
                retry_after_until=_dt(row["retry_after_until"]),
            )
            for row in self._rows_with_ids("SELECT * FROM feeds WHERE name IN ({})", wanted)
        }
        missing = [name for name in wanted if name not in states]
        if missing:
            raise StoreError(f"feed {missing[0]!r} is not in the database; sync_feeds was not called")
        return states

    def next_polls(self) -> dict[str, datetime | None]:
        """Every known feed's next poll time (None: never polled), in one query."""
        return {row["name"]: _dt(row["next_poll"]) for row in self._rows("SELECT name, next_poll FROM feeds")}

    def record_feed_success(
        self,
        name: str,
        *,
        status: str,
        http_status: int | None,
        etag: str | None,
        last_modified: str | None,
        permanent_url: str | None,
        entries: int,
        now: datetime,
        next_poll: datetime,
    ) -> None:
        """Record a good poll (ok or not_modified): validators, health reset, next poll time."""
        self._write(
            """UPDATE feeds SET last_status = ?, last_http_status = ?,
                   etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                   effective_url = COALESCE(?, effective_url),
                   last_success = ?, consecutive_failures = 0, failing_since = NULL, retry_after_until = NULL,
                   next_poll = ?, first_polled = COALESCE(first_polled, ?),
                   entries_seen = entries_seen + ?
               WHERE name = ?""",
            [
                status,
                http_status,
                etag,
                last_modified,
                permanent_url,
                _iso(now),
                _iso(next_poll),
                _iso(now),
                entries,
                name,
            ],
        )

    def record_feed_failure(
        self,
        name: str,
        *,
        kind: str,
        message: str,
        http_status: int | None,
        now: datetime,
        next_poll: datetime,
        retry_after_until: datetime | None = None,
    ) -> None:
        """Record a failed poll: the reason, one more failure, the next poll and any Retry-After the server sent."""
        self._write(
            """UPDATE feeds SET last_status = 'error', last_http_status = ?, last_error = ?,
                   last_error_kind = ?, consecutive_failures = consecutive_failures + 1,
                   failing_since = COALESCE(failing_since, ?), next_poll = ?, retry_after_until = ?
               WHERE name = ?""",
            [http_status, message[:500], kind, _iso(now), _iso(next_poll), _iso(retry_after_until), name],
        )

    def feed_health(self) -> list[FeedHealth]:
        """Every known feed's health, in name order."""
        return [
            FeedHealth(
                name=row["name"],
                url=row["url"],
                last_success=_dt(row["last_success"]),
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                consecutive_failures=row["consecutive_failures"],
                failing_since=_dt(row["failing_since"]),
                next_poll=_dt(row["next_poll"]),
                entries_seen=row["entries_seen"],
                retry_after_until=_dt(row["retry_after_until"]),
            )
            for row in self._rows("SELECT * FROM feeds ORDER BY name")
        ]

    # -- articles -------------------------------------------------------------------------------

    def known_article_ids(self, ids: Iterable[str]) -> set[str]:
        """Return which of `ids` are already stored."""
        return {row["id"] for row in self._rows_with_ids("SELECT id FROM articles WHERE id IN ({})", ids)}

    def known_guid(self, guid: str, title: str | None = None) -> str | None:
        """Return the id of a stored article with this GUID (and this title, when given), if any."""
        if title is None:
            rows = self._rows("SELECT id FROM articles WHERE guid = ? LIMIT 1", [guid])
        else:
            rows = self._rows("SELECT id FROM articles WHERE guid = ? AND title = ? LIMIT 1", [guid, title])
        return rows[0]["id"] if rows else None

    def save_article(
        self, article: Article, *, feed_name: str, match: TopicMatch, now: datetime, backlog: bool
    ) -> None:
        """Store a newly seen article with its topic match, and which feed it came through."""
        self._write(
            """INSERT OR IGNORE INTO articles
               (id, url, guid, outlet, title, text, published, first_seen, matched, terms, reason, backlog)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                article.id,
                article.url,
                article.guid,
                article.outlet,
                article.title,
                article.text,
                _iso(article.published),
                _iso(now),
                int(match.matched),
                json.dumps(list(match.terms), ensure_ascii=False),
                match.reason,
                int(backlog),
            ],
        )
        self.link_article_feed(article.id, feed_name, now)

    def link_article_feed(self, article_id: str, feed_name: str, now: datetime) -> None:
        """Record that `article_id` was seen through `feed_name` (once per pair)."""
        self._write(
            "INSERT OR IGNORE INTO article_feeds (article_id, feed_name, first_seen) VALUES (?, ?, ?)",
            [article_id, feed_name, _iso(now)],
        )

    def assign_article(self, article_id: str, event_id: str) -> None:
        """Record which event an article was grouped into."""
        self._write("UPDATE articles SET event_id = ? WHERE id = ?", [event_id, article_id])

    def article_count(self) -> int:
        """How many distinct articles are stored."""
        return int(self._rows("SELECT count(*) AS n FROM articles")[0]["n"])

    def articles_of_feed(self, feed_name: str) -> list[str]:
        """Ids of the articles seen through one feed (for tests and diagnostics)."""
        rows = self._rows("SELECT article_id FROM article_feeds WHERE feed_name = ? ORDER BY article_id", [feed_name])
        return [r["article_id"] for r in rows]

    def article_match(self, article_id: str) -> TopicMatch | None:
        """The stored topic match of one article."""
        rows = self._rows("SELECT matched, terms, reason FROM articles WHERE id = ?", [article_id])
        if not rows:
            return None
        row = rows[0]
        return TopicMatch(bool(row["matched"]), tuple(json.loads(row["terms"])), row["reason"])

    def assigned_articles(self, event_ids: Iterable[str]) -> list[tuple[str, Article, datetime]]:
        """(event id, article, first seen) of every stored article assigned to one of the events, in storage order.

        Storage order is the order the pipeline handed the articles to the tracker, across events.
        """
        rows = self._rows_with_ids("SELECT rowid AS stored, * FROM articles WHERE event_id IN ({})", event_ids)
        rows.sort(key=lambda row: row["stored"])  # the ids are asked in chunks: one order across all of them
        return [(row["event_id"], self._article(row), _req_dt(row["first_seen"])) for row in rows]

    @staticmethod
    def _article(row: dict[str, Any]) -> Article:
        """Build an Article from an articles row."""
        return Article(
            id=row["id"],
            outlet=row["outlet"],
            url=row["url"],
            title=row["title"],
            text=row["text"],
            published=_dt(row["published"]),
            guid=row["guid"],
        )

    # -- events ---------------------------------------------------------------------------------

    def save_event(self, event: Event, now: datetime) -> int:
        """Insert or update an event and its reports; return its new revision (1 for a new event)."""
        with self.transaction():
            rows = self._rows("SELECT revision FROM events WHERE id = ?", [event.id])
            revision = rows[0]["revision"] + 1 if rows else 1
            self._write(
                """INSERT INTO events (id, headline, summary, follows, matched_terms, first_seen, updated,
                                       revision)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET headline = excluded.headline, summary = excluded.summary,
                       follows = excluded.follows, matched_terms = excluded.matched_terms,
                       updated = excluded.updated, revision = excluded.revision""",
                [
                    event.id,
                    event.headline,
                    event.summary,
                    event.follows,
                    json.dumps(list(event.matched_terms), ensure_ascii=False),
                    _iso(event.first_seen),
                    _iso(event.updated),
                    revision,
                ],
            )
            self._write("DELETE FROM event_reports WHERE event_id = ?", [event.id])
            for position, report in enumerate(event.reports):
                self._write(
                    """INSERT INTO event_reports (event_id, position, article_id, outlet, url, title,
                                                  published, seen)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    [
                        event.id,
                        position,
                        report.article_id,
                        report.outlet,
                        report.url,
                        report.title,
                        _iso(report.published),
                        _iso(report.seen),
                    ],
                )
        return revision

    def event(self, event_id: str) -> Event | None:
        """Return one event with its reports, or None."""
        found = self.event_and_revision(event_id)
        return found[0] if found else None

    def event_and_revision(self, event_id: str) -> tuple[Event, int] | None:
        """One event with its reports and its current revision, read together (None when unknown)."""
        rows = self._rows("SELECT * FROM events WHERE id = ?", [event_id])
        return (self._events(rows)[0], int(rows[0]["revision"])) if rows else None

    def latest_events(self, limit: int) -> list[Event]:
        """The `limit` most recently started events, newest first."""
        rows = self._rows("SELECT * FROM events ORDER BY first_seen DESC, rowid DESC LIMIT ?", [limit])
        return self._events(rows)

    def events_since(self, since: datetime) -> list[Event]:
        """Events updated at or after `since`, oldest first."""
        rows = self._rows("SELECT * FROM events WHERE updated >= ? ORDER BY first_seen, rowid", [_iso(since)])
        return self._events(rows)

    def event_count(self) -> int:
        """How many events are stored."""
        return int(self._rows("SELECT count(*) AS n FROM events")[0]["n"])

    def _events(self, rows: list[dict[str, Any]]) -> list[Event]:
        """Build Events (with their reports, one query) from events rows."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        reports: dict[str, list[Report]] = {i: [] for i in ids}
        # In chunks (a restore can ask for thousands of events); each event's reports sit in one chunk.
        for r in self._rows_with_ids(
            "SELECT * FROM event_reports WHERE event_id IN ({}) ORDER BY event_id, position", ids
        ):
            reports[r["event_id"]].append(
                Report(
                    article_id=r["article_id"],
                    outlet=r["outlet"],
                    url=r["url"],
                    title=r["title"],
                    published=_dt(r["published"]),
                    seen=_req_dt(r["seen"]),
                )
            )
        return [
            Event(
                id=row["id"],
                reports=tuple(reports[row["id"]]),
                headline=row["headline"],
                summary=row["summary"],
                follows=row["follows"],
                matched_terms=tuple(json.loads(row["matched_terms"])),
                first_seen=_req_dt(row["first_seen"]),
                updated=_req_dt(row["updated"]),
            )
            for row in rows
        ]

    # -- outbox ---------------------------------------------------------------------------------

    def enqueue_delivery(self, sink: str, event_id: str, *, revision: int, reply_to: str | None, now: datetime) -> None:
        """Ask for `revision` of an event on `sink`: a new row to post, or a newer revision to edit in.

        A row that is gone (message deleted by an admin) or failed for good is left alone, so the bot
        does not fight an admin's decision.
        """
        self._write(
            """INSERT INTO deliveries (sink, event_id, revision, reply_to, state, next_attempt, created)
               VALUES (?, ?, ?, ?, 'pending', ?, ?)
               ON CONFLICT(sink, event_id) DO UPDATE SET
                   revision = max(revision, excluded.revision),
                   state = CASE WHEN state IN ('gone', 'failed') THEN state ELSE 'pending' END,
                   next_attempt = CASE WHEN state = 'sent' THEN excluded.next_attempt
                                       ELSE next_attempt END""",
            [sink, event_id, revision, reply_to, _iso(now), _iso(now)],
        )

    def due_deliveries(self, now: datetime, *, limit: int = 50, skip: Collection[str] = ()) -> list[Delivery]:
        """Pending outbox rows whose next attempt is due, oldest first, of every sink not in `skip`."""
        sql = "SELECT * FROM deliveries WHERE state = 'pending' AND next_attempt <= ?"
        params: list[Any] = [_iso(now)]
        if skip:
            # In the query, not after it: a busy sink's backlog must not fill the limit and starve the rest.
            sql += f" AND sink NOT IN ({','.join('?' * len(skip))})"
            params.extend(skip)
        sql += " ORDER BY created, rowid LIMIT ?"
        params.append(limit)
        return [self._delivery(row) for row in self._rows(sql, params)]

    def delivery(self, sink: str, event_id: str) -> Delivery | None:
        """One outbox row, or None."""
        rows = self._rows("SELECT * FROM deliveries WHERE sink = ? AND event_id = ?", [sink, event_id])
        return self._delivery(rows[0]) if rows else None

    def deliveries(self, sink: str | None = None) -> list[Delivery]:
        """Every outbox row (optionally of one sink), oldest first."""
        if sink is None:
            rows = self._rows("SELECT * FROM deliveries ORDER BY created, rowid")
        else:
            rows = self._rows("SELECT * FROM deliveries WHERE sink = ? ORDER BY created, rowid", [sink])
        return [self._delivery(row) for row in rows]

    def record_sent(self, sink: str, event_id: str, *, message_id: str, revision: int, now: datetime) -> None:
        """Record a successful post or edit: the message id and the revision it shows."""
        self._write(
            """UPDATE deliveries SET message_id = ?, delivered_revision = max(delivered_revision, ?),
                   state = CASE WHEN revision > ? THEN 'pending' ELSE 'sent' END,
                   attempts = 0, last_sent = ?, last_error = NULL
               WHERE sink = ? AND event_id = ?""",
            [message_id, revision, revision, _iso(now), sink, event_id],
        )

    def record_attempt_failed(
        self, sink: str, event_id: str, *, error: str, next_attempt: datetime, final: str | None = None
    ) -> None:
        """Record a failed attempt: retry at `next_attempt`, or park the row as `final` (gone, failed)."""
        self._write(
            """UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt = ?,
                   state = COALESCE(?, state)
               WHERE sink = ? AND event_id = ?""",
            [error[:500], _iso(next_attempt), final, sink, event_id],
        )

    def defer_delivery(self, sink: str, event_id: str, until: datetime) -> None:
        """Postpone a row without counting an attempt (edit coalescing, flood control)."""
        self._write(
            "UPDATE deliveries SET next_attempt = ? WHERE sink = ? AND event_id = ?",
            [_iso(until), sink, event_id],
        )

    def message_id(self, sink: str, event_id: str) -> str | None:
        """The platform message id of an event's alert on a sink, once posted."""
        rows = self._rows("SELECT message_id FROM deliveries WHERE sink = ? AND event_id = ?", [sink, event_id])
        return rows[0]["message_id"] if rows else None

    def last_message_number(self, sink: str) -> int:
        """The highest all-digit message id recorded for a sink (0 before the first): the console's numbering."""
        rows = self._rows(
            "SELECT max(CAST(message_id AS INTEGER)) AS n FROM deliveries"
            " WHERE sink = ? AND message_id != '' AND message_id NOT GLOB '*[^0-9]*'",
            [sink],
        )
        return int(rows[0]["n"] or 0)

    def outbox_depth(self) -> int:
        """How many outbox rows wait to be sent."""
        return int(self._rows("SELECT count(*) AS n FROM deliveries WHERE state = 'pending'")[0]["n"])

    @staticmethod
    def _delivery(row: dict[str, Any]) -> Delivery:
        """Build a Delivery from a deliveries row."""
        return Delivery(
            sink=row["sink"],
            event_id=row["event_id"],
            revision=row["revision"],
            delivered_revision=row["delivered_revision"],
            message_id=row["message_id"],
            reply_to=row["reply_to"],
            state=row["state"],
            attempts=row["attempts"],
            next_attempt=_req_dt(row["next_attempt"]),
            last_sent=_dt(row["last_sent"]),
            last_error=row["last_error"],
            created=_req_dt(row["created"]),
        )

    # -- subscribers ----------------------------------------------------------------------------

    def add_subscriber(self, chat_id: int, now: datetime) -> bool:
        """Subscribe a private chat to the alerts; False when it already was."""
        cursor = self._write("INSERT OR IGNORE INTO subscribers (chat_id, since) VALUES (?, ?)", [chat_id, _iso(now)])
        return cursor.rowcount > 0

    def remove_subscriber(self, chat_id: int) -> bool:
        """Unsubscribe a chat; False when it was not subscribed."""
        return self._write("DELETE FROM subscribers WHERE chat_id = ?", [chat_id]).rowcount > 0

    def subscribers(self) -> list[int]:
        """Every subscribed chat id."""
        return [r["chat_id"] for r in self._rows("SELECT chat_id FROM subscribers ORDER BY since, chat_id")]

    def is_subscriber(self, chat_id: int) -> bool:
        """Whether a chat is subscribed (one indexed look-up, not the whole list)."""
        return bool(self._rows("SELECT 1 AS x FROM subscribers WHERE chat_id = ?", [chat_id]))

    # -- cycles ---------------------------------------------------------------------------------

    def record_cycle(self, record: CycleRecord) -> None:
        """Remember the counts of a finished poll cycle."""
        self._write(
            """INSERT INTO cycles (started, finished, feeds, errors, entries, new, matched, events)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                _iso(record.started),
                _iso(record.finished),
                record.feeds,
                record.errors,
                record.entries,
                record.new,
                record.matched,
                record.events,
            ],
        )

    def last_cycle(self) -> CycleRecord | None:
        """The most recent poll cycle, or None before the first."""
        rows = self._rows("SELECT * FROM cycles ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        row = rows[0]
        return CycleRecord(
            started=_req_dt(row["started"]),
            finished=_req_dt(row["finished"]),
            feeds=row["feeds"],
            errors=row["errors"],
            entries=row["entries"],
            new=row["new"],
            matched=row["matched"],
            events=row["events"],
        )
