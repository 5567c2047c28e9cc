"""`Origin` checks on WebSocket handshakes, which CORS does not cover.

A browser lets any page open a WebSocket to any address, the operator's
loopback included, and only says where the page came from in `Origin`.
Programs (agents, SDKs) send no `Origin` at all.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.websockets import WebSocket

from paddler.balancer.http.bearer_auth import deny_websocket
from paddler.balancer.http.http_body import error_response


def origin_allowed(origin: str | None, allowed_origins: Collection[str]) -> bool:
    """No `Origin` (not a browser), or one of `allowed_origins` (as CORS compares them; `*`: any)."""
    return origin is None or "*" in allowed_origins or origin in allowed_origins


async def refuse_origin(websocket: WebSocket, reason: str) -> None:
    """Refuses the handshake: 403 with a JSON message (a close with `reason` where no answer can go)."""
    await deny_websocket(websocket, error_response(403, reason), reason)
