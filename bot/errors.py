"""Our exception types: every adapter error becomes one of these, with the cause chained."""

from __future__ import annotations


class WirewatchError(Exception):
    """Base of every error Wirewatch raises on purpose."""


class ConfigError(WirewatchError):
    """A config file or environment variable is wrong; the message names the file, the key and what was expected."""


class FetchError(WirewatchError):
    """A feed could not be fetched; `kind` is a short machine-readable reason (timeout, http, too_large …)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ParseError(WirewatchError):
    """A feed body could not be read as a feed (HTML page, garbage, broken XML with no entries)."""


class StoreError(WirewatchError):
    """The database could not be read or written (locked, read-only, disk full, corrupt)."""


class DeliveryError(WirewatchError):
    """Sending or editing an alert failed; subclasses say what the outbox should do next."""


class RetryLater(DeliveryError):
    """A transient failure (429, 5xx, network): retry after `retry_after` seconds, or with backoff when None."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MessageGone(DeliveryError):
    """The message to edit no longer exists (deleted by an admin): stop editing it, do not re-post."""


class SinkFatal(DeliveryError):
    """The sink cannot work at all (invalid token, bot removed, webhook deleted): park its rows, report loudly."""
