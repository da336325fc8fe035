"""A recording sink for tests of the outbox: keeps every post and edit, and fails on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Event


@dataclass
class RecordingSink:
    """A Sink that remembers what it was asked to send; queue errors in `failures` to fail the next calls."""

    name: str = "rec"
    posts: list[tuple[str, str, str | None]] = field(default_factory=list)  # (message id, event id, reply to)
    edits: list[tuple[str, str, int]] = field(default_factory=list)  # (message id, event id, outlet count)
    failures: list[Exception] = field(default_factory=list)  # DeliveryErrors, or anything a buggy sink raises

    async def post(self, event: Event, reply_to: str | None) -> str:
        """Record a post, or raise the next queued failure."""
        if self.failures:
            raise self.failures.pop(0)
        message_id = f"m{len(self.posts) + 1}"
        self.posts.append((message_id, event.id, reply_to))
        return message_id

    async def edit(self, message_id: str, event: Event) -> None:
        """Record an edit, or raise the next queued failure."""
        if self.failures:
            raise self.failures.pop(0)
        self.edits.append((message_id, event.id, len(event.outlets)))
