"""The console sink: prints each alert as posted and as edited, for runs without a Telegram token."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bot.models import Event


class ConsoleSink:
    """A Sink that writes rendered alerts to a text stream, numbering them like chat messages."""

    def __init__(
        self, stream: TextIO, render: Callable[[Event], str], name: str = "console", *, first_id: int = 1
    ) -> None:
        self.name = name
        self._stream = stream
        self._render = render
        # After a restart numbering goes on from the last alert the outbox recorded, so "#3 edited" never
        # names a different alert than "#3 posted" did.
        self._next_id = first_id

    async def post(self, event: Event, reply_to: str | None) -> str:
        """Print a new alert (noting the alert it follows up) and return its number."""
        message_id = str(self._next_id)
        self._next_id += 1
        thread = f", reply to #{reply_to}" if reply_to else ""
        self._write(f"── alert #{message_id} posted{thread} ──", event)
        return message_id

    async def edit(self, message_id: str, event: Event) -> None:
        """Print the new state of an existing alert."""
        self._write(f"── alert #{message_id} edited ({len(event.outlets)} outlets) ──", event)

    def _write(self, header: str, event: Event) -> None:
        """Write one framed alert and flush, so a watching person sees it at once."""
        self._stream.write(f"\n{header}\n{self._render(event)}\n")
        self._stream.flush()
