"""The delivery worker: drains the outbox into the sinks, once per event and sink, edits coalesced."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.adapters.store import Store
from bot.errors import DeliveryError, MessageGone, RetryLater, SinkFatal, StoreError
from bot.models import Delivery
from bot.sinks import Sink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retry and pacing rules of the outbox; defaults follow the platforms' documented limits."""

    edit_interval_s: float = 60.0  # at most about one edit a minute per alert (issue #4)
    retry_base_s: float = 2.0  # first retry of a transient failure; doubles per attempt
    retry_cap_s: float = 300.0  # backoff never waits longer than five minutes (a platform's retry_after may)
    fatal_retry_s: float = 600.0  # a sink that refuses us (bot removed, webhook gone) is asked again rarely
    fatal_attempts: int = 12  # … and parked as failed after this many refusals (about two hours)
    error_attempts: int = 5  # a request the platform rejects as bad is tried this often, then parked
    parent_wait_s: float = 2.0  # a follow-up re-checks this often for its parent's post, to reply to it
    parent_patience_s: float = 120.0  # … and is posted unthreaded after this long
    batch: int = 50  # rows read per sink per pass


@dataclass(frozen=True, slots=True)
class PassStats:
    """What one pass over the outbox did."""

    posted: int = 0
    edited: int = 0
    deferred: int = 0
    failed: int = 0


class DeliveryWorker:
    """Sends due outbox rows: the row exists before the send, the message id is recorded right after."""

    def __init__(
        self,
        *,
        store: Store,
        resolve: Callable[[str], Sink | None],
        clock: Callable[[], datetime],
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
        on_fatal: Callable[[str, SinkFatal], bool] | None = None,
    ) -> None:
        self.store = store
        self.resolve = resolve
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()
        # Told when a sink refuses delivery; True means the sink is gone for good (a subscriber who blocked
        # the bot) and the row is parked at once instead of being asked again for hours.
        self.on_fatal = on_fatal
        self._wake = asyncio.Event()
        # Posts the platform accepted whose message id the database refused to record (disk full, locked):
        # the next attempt records the id instead of posting again. Lost with the process (docs/reliability.md).
        self._unrecorded: dict[tuple[str, str], tuple[str, int]] = {}  # (sink, event) → (message id, revision)

    def notify(self) -> None:
        """Wake the worker now (new rows were queued)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle_s: float = 1.0) -> None:
        """Drain the outbox until `stop` is set; the sends in flight finish before returning.

        Each sink is drained by its own task, and a sink still busy (a platform that hangs until its
        timeout) is skipped by the next passes while the other sinks go on: one never delays another.
        """
        busy: dict[str, asyncio.Task[PassStats]] = {}
        try:
            while not stop.is_set():
                self._wake.clear()
                for name, task in list(busy.items()):
                    if task.done():
                        del busy[name]
                        failure = None if task.cancelled() else task.exception()
                        if isinstance(failure, StoreError):
                            log.error("delivery to %s failed on the database: %s", name, failure)
                        elif failure is not None:
                            log.error("delivery to %s stopped: %s", name, type(failure).__name__)
                try:
                    for name, rows in self._due_by_sink(skip=busy.keys()).items():
                        busy[name] = asyncio.create_task(self._drain_sink(name, rows))
                except StoreError:
                    log.exception("delivery pass failed on the database; retrying shortly")
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait([*waiters, *busy.values()], timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
            if busy:
                await asyncio.gather(*busy.values(), return_exceptions=True)
        finally:
            for task in busy.values():
                task.cancel()  # only reached unfinished when the worker itself is cancelled

    def _due_by_sink(self, skip: Collection[str] = ()) -> dict[str, list[Delivery]]:
        """The due rows, at most a batch per sink, of every sink not in `skip`."""
        due = self.store.due_deliveries(self.clock(), limit=self.policy.batch * 20, skip=skip)
        per_sink: dict[str, list[Delivery]] = defaultdict(list)
        for row in due:
            if len(per_sink[row.sink]) < self.policy.batch:
                per_sink[row.sink].append(row)
        return per_sink

    async def drain_once(self) -> PassStats:
        """One pass: every sink's due rows, sinks side by side so one slow platform never delays another."""
        per_sink = self._due_by_sink()
        results = await asyncio.gather(*(self._drain_sink(name, rows) for name, rows in per_sink.items()))
        return PassStats(
            posted=sum(r.posted for r in results),
            edited=sum(r.edited for r in results),
            deferred=sum(r.deferred for r in results),
            failed=sum(r.failed for r in results),
        )

    async def _drain_sink(self, name: str, rows: list[Delivery]) -> PassStats:
        """Send one sink's rows in order (a parent before its follow-ups)."""
        sink = self.resolve(name)
        posted = edited = deferred = failed = 0
        for row in rows:
            if sink is None:
                self.store.record_attempt_failed(
                    name,
                    row.event_id,
                    error="sink is not configured",
                    next_attempt=self.clock(),
                    final="failed",
                )
                failed += 1
                continue
            outcome = await self._deliver(sink, row)
            if outcome == "posted":
                posted += 1
            elif outcome == "edited":
                edited += 1
            elif outcome == "deferred":
                deferred += 1
            elif outcome == "failed":
                failed += 1
            if outcome == "fatal":
                failed += 1
                break  # the sink refuses everything now: leave its other rows for later
        return PassStats(posted, edited, deferred, failed)

    async def _deliver(self, sink: Sink, row: Delivery) -> str:
        """Post or edit one alert; return what happened: posted, edited, deferred, failed, fatal."""
        now = self.clock()
        found = self.store.event_and_revision(row.event_id)
        if found is None:
            self.store.record_attempt_failed(
                row.sink, row.event_id, error="event not found", next_attempt=now, final="failed"
            )
            return "failed"
        event, revision = found
        try:
            if row.message_id is None:
                reply_to = self._parent_message(row, now)
                if reply_to == "wait":
                    self.store.defer_delivery(
                        row.sink, row.event_id, now + timedelta(seconds=self.policy.parent_wait_s)
                    )
                    return "deferred"
                key = (row.sink, row.event_id)
                if key in self._unrecorded:
                    message_id, revision = self._unrecorded[key]
                else:
                    message_id = await sink.post(event, reply_to)
                    self._unrecorded[key] = (message_id, revision)
                self.store.record_sent(
                    row.sink, row.event_id, message_id=message_id, revision=revision, now=self.clock()
                )
                del self._unrecorded[key]
                log.info("posted event %s to %s as message %s", row.event_id, row.sink, message_id)
                return "posted"
            if row.last_sent is not None:
                ready = row.last_sent + timedelta(seconds=self.policy.edit_interval_s)
                if ready > now:
                    # Coalesce bursts: the edit waits, and picks up every change made meanwhile.
                    self.store.defer_delivery(row.sink, row.event_id, ready)
                    return "deferred"
            await sink.edit(row.message_id, event)
            self.store.record_sent(
                row.sink, row.event_id, message_id=row.message_id, revision=revision, now=self.clock()
            )
            log.info("edited event %s on %s (revision %d)", row.event_id, row.sink, revision)
            return "edited"
        except RetryLater as exc:
            delay = exc.retry_after if exc.retry_after is not None else self._backoff(row.attempts)
            self._failed(row, exc, delay)
            return "deferred"
        except MessageGone as exc:
            # An admin deleted the alert: respect it, do not re-post.
            self._failed(row, exc, 0.0, final="gone")
            return "failed"
        except SinkFatal as exc:
            dropped = self.on_fatal is not None and self.on_fatal(row.sink, exc)
            final = "failed" if dropped or row.attempts + 1 >= self.policy.fatal_attempts else None
            log.error("sink %s refuses delivery: %s", row.sink, exc)
            self._failed(row, exc, self.policy.fatal_retry_s, final=final)
            return "fatal"
        except DeliveryError as exc:
            final = "failed" if row.attempts + 1 >= self.policy.error_attempts else None
            self._failed(row, exc, self._backoff(row.attempts), final=final)
            return "failed"
        except StoreError:
            raise  # the database, not the sink: run() reports it, and the row is not counted against the sink
        except Exception as exc:
            # Outside the sink contract (a bug, an error the sink does not translate): without this the
            # drain task died unlogged and the row came due again at once, pass after pass. It is kept and
            # backed off like any failure. Only the type is shown: the text may hold a webhook token that
            # the sink would have redacted from its own errors.
            log.error("delivery of event %s to %s raised %s", row.event_id, row.sink, type(exc).__name__)
            final = "failed" if row.attempts + 1 >= self.policy.error_attempts else None
            failure = DeliveryError(f"unexpected {type(exc).__name__} from the sink")
            self._failed(row, failure, self._backoff(row.attempts), final=final)
            return "failed"

    def _parent_message(self, row: Delivery, now: datetime) -> str | None:
        """The parent alert's message id on this sink, "wait" while the parent is still queued, else None."""
        if row.reply_to is None:
            return None
        parent = self.store.delivery(row.sink, row.reply_to)
        if parent is None or parent.state in ("gone", "failed"):
            return None
        if parent.message_id is not None:
            return parent.message_id
        # Wait a little for the parent so the follow-up threads under it, but never forever.
        return "wait" if (now - row.created).total_seconds() < self.policy.parent_patience_s else None

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff, capped, with equal jitter (between half the ceiling and the ceiling)."""
        ceiling = min(self.policy.retry_cap_s, self.policy.retry_base_s * 2**attempts)
        return self.rng.uniform(ceiling / 2, ceiling)

    def _failed(self, row: Delivery, exc: DeliveryError, delay: float, final: str | None = None) -> None:
        """Record a failed attempt and when to try again."""
        log.warning("delivery of event %s to %s failed: %s", row.event_id, row.sink, exc)
        self.store.record_attempt_failed(
            row.sink,
            row.event_id,
            error=f"{type(exc).__name__}: {exc}",
            next_attempt=self.clock() + timedelta(seconds=delay),
            final=final,
        )
