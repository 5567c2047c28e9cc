"""Serving an ASGI app with uvicorn inside our own event loop and lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from paddler.balancer.http.websocket_protocol import websocket_protocol

logger = logging.getLogger(__name__)

# Streams (SSE, sockets) never end on their own; a stop waits this long for them.
GRACEFUL_SHUTDOWN_S = 2
# Agents' batch frames (embeddings of a whole batch) can be large.
WS_MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A certificate chain and its private key (PEM files): every service is served over TLS with them."""

    certificate: str
    key: str

    def check(self) -> str | None:
        """Why a server cannot use these files, or None: read once before anything starts."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.certificate, self.key)
        except OSError as error:  # ssl.SSLError is one too
            return f"cannot use --tls-cert {self.certificate} with --tls-key {self.key}: {error}"
        return None


class _EmbeddedServer(uvicorn.Server):
    # Several servers share one process, and the process handles signals
    # itself: no server may install its own handlers.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 in brackets) into its parts; raises ValueError with a message."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise ValueError(f"{address!r} is not HOST:PORT")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} in {address!r} is out of range")
    return host.strip("[]"), number


class HttpServer:
    def __init__(
        self,
        app: ASGIApp,
        address: str,
        name: str,
        graceful_shutdown_s: float = GRACEFUL_SHUTDOWN_S,
        ws_max_size: int = WS_MAX_SIZE,
        ws_max_unsent_bytes: int = 0,
        tls: TlsFiles | None = None,
    ) -> None:
        host, port = split_address(address)
        self._address = (host, port)
        self.name = name
        self._server = _EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                loop="none",
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=int(graceful_shutdown_s),
                # A socket whose client leaves more than ws_max_unsent_bytes unread is closed (0: never).
                ws=websocket_protocol(ws_max_unsent_bytes),
                ws_ping_interval=5.0,
                ws_ping_timeout=10.0,
                # A larger message closes its socket with 1009 (message too big).
                ws_max_size=ws_max_size,
                # Frames are small JSON (a token each): compressing them costs
                # more CPU than the bytes it saves on the networks we run on.
                ws_per_message_deflate=False,
                ssl_certfile=tls.certificate if tls else None,
                ssl_keyfile=tls.key if tls else None,
            )
        )

    def _bind(self) -> socket.socket:
        # Bound here, not by uvicorn: a busy address becomes an OSError with
        # a message instead of uvicorn's sys.exit inside the event loop.
        host, port = self._address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
        except OSError as error:
            listener.close()
            raise OSError(f"the {self.name} cannot listen on {host}:{port}: {error.strerror}") from error
        listener.set_inheritable(True)
        return listener

    async def run(self, shutdown: asyncio.Event) -> None:
        listener = self._bind()
        serving = asyncio.create_task(self._server.serve(sockets=[listener]))
        stopping = asyncio.create_task(shutdown.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        self._server.should_exit = True
        stopping.cancel()
        await serving
