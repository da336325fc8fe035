"""A loopback TCP proxy that breaks chosen HTTP requests on the wire: timeouts, resets, lost answers.

The fakes (FakeBotAPI, FakeDiscord) answer with HTTP errors; network faults need something between the
client and the fake. `FaultProxy` forwards bytes both ways and, for the next request whose first line
contains a pattern, applies one fault:

- "blackhole": the request is swallowed and nothing ever comes back (the client times out; the platform
  never saw the request);
- "reset": the request is swallowed and the connection is reset (RST) at once;
- "drop_answer": the request reaches the platform, which acts on it, but its answer is replaced by a reset
  (the one case no client can tell apart from "reset": the post exists, the client does not know).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

METHODS = (b"GET ", b"POST ", b"PATCH ", b"PUT ", b"DELETE ", b"HEAD ")


@dataclass
class _Fault:
    pattern: str
    mode: str
    times: int


@dataclass
class FaultProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:<target_port>, breaking requests as programmed."""

    target_port: int
    port: int = 0
    applied: list[tuple[str, str]] = field(default_factory=list)  # (mode, request line) of each fault done
    _faults: list[_Fault] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def fault(self, mode: str, pattern: str, *, times: int = 1) -> None:
        """Break the next `times` requests whose request line contains `pattern` with `mode`."""
        assert mode in ("blackhole", "reset", "drop_answer")
        self._faults.append(_Fault(pattern, mode, times))

    @property
    def pending(self) -> int:
        """Faults programmed but not applied yet."""
        return sum(f.times for f in self._faults)

    def url(self, path: str = "") -> str:
        """http://127.0.0.1:<proxy port><path>."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> FaultProxy:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _take(self, chunk: bytes) -> str | None:
        """The fault for a chunk that starts a request, if one is programmed for it."""
        if not chunk.startswith(METHODS):
            return None
        line = chunk.split(b"\r\n", 1)[0].decode("latin-1")
        for fault in self._faults:
            if fault.pattern in line:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                self.applied.append((fault.mode, line.split(" ")[0] + " " + fault.pattern))
                return fault.mode
        return None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            self._tasks.discard(task)
            return
        drop_answer = asyncio.Event()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if drop_answer.is_set():
                    _reset(writer)  # the platform acted; its answer is lost on the way back
                    return
                writer.write(data)
                await writer.drain()

        down = asyncio.create_task(downstream())
        try:
            while chunk := await reader.read(65536):
                mode = self._take(chunk)
                if mode == "blackhole":
                    await asyncio.sleep(3600)  # hold the connection open, answer nothing (until cancelled)
                if mode == "reset":
                    _reset(writer)
                    return
                if mode == "drop_answer":
                    drop_answer.set()
                up_writer.write(chunk)
                await up_writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            down.cancel()
            with contextlib.suppress(BaseException):
                await down
            up_writer.close()
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP reset (SO_LINGER 0), as a crashed middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
