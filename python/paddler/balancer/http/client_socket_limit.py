"""A ceiling on the WebSockets one client address holds open at once."""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from paddler.balancer.http.bearer_auth import DenyResponse, deny_websocket


class ClientSocketLimitMiddleware:
    """Refuses the handshake (429) of a socket beyond `limit` from the same address; 0: no limit."""

    def __init__(self, app: ASGIApp, *, limit: int, deny: DenyResponse) -> None:
        self._app = app
        self._limit = limit
        self._deny = deny
        self._open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not self._limit:
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else ""
        if self._open[address] >= self._limit:
            message = f"{address} already has {self._limit} sockets open (--max-sockets-per-client)"
            await deny_websocket(WebSocket(scope, receive, send), self._deny(429, message), message)
            return
        self._open[address] += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._open[address] -= 1
            if not self._open[address]:
                del self._open[address]
