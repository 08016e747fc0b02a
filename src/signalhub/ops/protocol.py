"""The HTTP protocol `signalhub serve` gives uvicorn: uvicorn's own (httptools), with Nagle's
algorithm off on every connection.

uvicorn writes a response's head and its body in two writes. With Nagle's algorithm on, the body
waits until the client acknowledges the head, and a client that delays its ACK (Linux does, up
to 40 ms) stalls every response. asyncio's loop turns Nagle off only on sockets it created
itself; the sockets of `serve --workers N` are accepted from a listener that uvicorn binds in the
parent process, which asyncio does not recognise as TCP, so they kept it on (sign-in with two
workers at 16 connections: 209/s, p50 76 ms, the CPU half idle)."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
