"""The one interface every alert destination implements (Telegram, Discord, console)."""

from __future__ import annotations

from typing import Protocol

from bot.models import Event

# Outbox sink ids of the Telegram destinations: the channel, and each subscriber's private chat by chat id.
CHANNEL_SINK = "telegram:channel"
DM_SINK_PREFIX = "telegram:dm:"


def dm_sink(chat_id: int | str) -> str:
    """The outbox sink id of a subscriber's private chat."""
    return f"{DM_SINK_PREFIX}{chat_id}"


def dm_chat(sink: str) -> int | None:
    """The private chat a sink id names, or None when it names no private chat."""
    return int(sink.removeprefix(DM_SINK_PREFIX)) if sink.startswith(DM_SINK_PREFIX) else None


class Sink(Protocol):
    """Posts and edits one alert per event on one platform; raises DeliveryError subclasses on failure."""

    name: str  # the outbox sink id, e.g. "telegram:channel", "discord:0", "console"

    async def post(self, event: Event, reply_to: str | None) -> str:
        """Post the alert for `event`, replying to the parent alert's message id when given; return the new id."""
        ...

    async def edit(self, message_id: str, event: Event) -> None:
        """Replace the alert `message_id` with the current state of `event`; "not modified" is success."""
        ...
