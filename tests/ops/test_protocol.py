"""`serve --workers N` accepts its connections from a listener that uvicorn binds in the parent
process, as a socket asyncio does not take for TCP: without our protocol, Nagle's algorithm
stayed on and delayed every response's body behind the client's ACK of its head."""

from __future__ import annotations

import asyncio
import socket

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from signalhub.ops.protocol import NoDelayHttpToolsProtocol


async def app(scope: dict[str, object], receive: object, send: object) -> None:
    raise AssertionError("no request is sent")


async def nodelay_of_accepted(protocol: type[HttpToolsProtocol]) -> int:
    """TCP_NODELAY of a connection accepted on a listener bound the way uvicorn binds one for
    several workers (`socket.socket(family)`, protocol number 0)."""
    listener = socket.socket(socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = Config(app=app, http=protocol, lifespan="off", log_config=None)
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: protocol(config=config, server_state=state, app_state={}), sock=listener
    )
    _reader, writer = await asyncio.open_connection(*listener.getsockname())
    try:
        for _ in range(100):
            if state.connections:
                break
            await asyncio.sleep(0.01)
        (connection,) = state.connections
        accepted = connection.transport.get_extra_info("socket")
        return int(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()


async def test_uvicorn_alone_leaves_nagle_on_for_such_a_listener() -> None:
    """Why the protocol exists: if this starts failing, asyncio or uvicorn fixed it."""
    if isinstance(asyncio.get_running_loop(), asyncio.SelectorEventLoop):
        assert await nodelay_of_accepted(HttpToolsProtocol) == 0
    else:
        pytest.skip("another event loop sets TCP_NODELAY itself")


async def test_our_protocol_turns_nagle_off() -> None:
    assert await nodelay_of_accepted(NoDelayHttpToolsProtocol) == 1
