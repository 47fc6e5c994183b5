"""An asyncio HTTP/1.1 server that runs its own event loop in a daemon thread.

One loop serves every connection, so a thousand idle keep-alive clients cost a thousand small
coroutines, not a thousand threads, and a delayed answer (latency, a "delay" fault) is an
`asyncio.sleep` that blocks nobody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable

from airflow_provider_loopring.testing.sandbox.wire import (
    BadRequest,
    Request,
    Response,
    encode_response,
    error_response,
    read_request,
)

# The handler answers a request, or returns None to have the connection reset instead.
Handler = Callable[[Request], Awaitable[Response | None]]
BACKLOG = 4096  # benchmarks open 1,000 connections at once; the kernel caps it at somaxconn


class HttpServer:
    """Serves `handler` on host:port from a background thread until `stop()`.

    :param handler: answers each request, on the server's event loop; None resets the
        connection.
    :param host: the address to listen on.
    :param port: the port; 0 picks a free one, known after :meth:`start`.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the one picked, after :meth:`start`)."""
        return self._port

    def start(self) -> None:
        """Bind and start serving; returns once the socket listens (port 0 is resolved)."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._run, name="loopring-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        """Close every connection and the listening socket, and join the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop may have closed in between
            loop.call_soon_threadsafe(loop.stop)
        thread.join()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(
                    self._serve_connection, self._host, self._port, backlog=BACKLOG
                )
            )
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown(server))
            loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._exchange(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        except asyncio.CancelledError:
            # stop() cancels open connections. Ending quietly matters: on Python 3.11 the
            # streams module logs an error for a connection task that ends cancelled.
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await read_request(reader)
            except BadRequest as exc:
                writer.write(encode_response(error_response(exc.status, 100001, str(exc)), False))
                return
            if request is None:
                return
            try:
                response = await self._handler(request)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = error_response(500, 100000, "sandbox bug: see its stderr")
            if response is None:
                _reset(writer)
                return
            if not response.raw:
                writer.write(encode_response(response, request.keep_alive))
                await writer.drain()
            if response.stream is not None and not await _stream(response, reader, writer):
                return
            if not request.keep_alive:
                return


async def _stream(
    response: Response, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bool:
    """Write a streamed body; False when the client closed the connection before its end.

    The stream is closed either way, so the fault behind it learns whether it was cut.
    """
    stream = response.stream
    assert stream is not None
    chunked = response.length is None and not response.raw
    try:
        async for part in stream:
            if reader.at_eof():  # the client sent FIN: it is not reading any more
                return False
            writer.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return True
    except ConnectionError:
        return False
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
