"""`Authorization: Bearer <token>` in front of a service: HTTP requests, SSE and WebSocket handshakes."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

POLICY_VIOLATION = 1008
# A deny answer: (status code, message) -> the response in the service's error shape.
DenyResponse = Callable[[int, str], Response]


def token_matches(presented: str | None, accepted: Sequence[bytes]) -> bool:
    """Constant time in the token's content: every accepted token is compared, whatever matched."""
    if presented is None:
        return False
    candidate = presented.encode()
    matched = False
    for token in accepted:
        matched |= hmac.compare_digest(candidate, token)
    return matched


def bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuthMiddleware:
    """Lets a request through when it presents one of `tokens`; answers 401 otherwise.

    `open_paths` need nothing (`/health`, `/openapi.json`); `skip` says which
    paths check credentials of their own (the agent socket). A browser cannot
    set headers on a WebSocket, so on `query_token_paths` a `?token=` works too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: Sequence[str],
        what: str,
        deny: DenyResponse,
        open_paths: Collection[str] = ("/health", "/openapi.json"),
        skip: Callable[[str], bool] = lambda _path: False,
        query_token_paths: Collection[str] = (),
    ) -> None:
        self._app = app
        self._tokens = [token.encode() for token in tokens]
        self._what = what
        self._deny = deny
        self._open_paths = frozenset(open_paths)
        self._skip = skip
        self._query_token_paths = frozenset(query_token_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._tokens:
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in self._open_paths or self._skip(path):
            await self._app(scope, receive, send)
            return
        presented = bearer_token(Headers(scope=scope))
        if presented is None and path in self._query_token_paths:
            presented = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[-1]
        if token_matches(presented, self._tokens):
            await self._app(scope, receive, send)
            return
        if presented is None:
            message = f"this API needs `Authorization: Bearer <{self._what}>`"
        else:
            message = f"the bearer token is not a valid {self._what}"
        response = self._deny(401, message)
        response.headers["WWW-Authenticate"] = "Bearer"
        if scope["type"] == "http":
            await response(scope, receive, send)
        else:
            await deny_websocket(WebSocket(scope, receive, send), response, message)


def websocket_close_reason(text: str) -> str:
    """`text` cut to fit a close frame: 123 bytes of UTF-8 (a longer reason fails the close itself)."""
    return text.encode()[:123].decode(errors="ignore")


async def deny_websocket(websocket: WebSocket, response: Response, reason: str) -> None:
    """Refuses a handshake with an HTTP answer the client can read, or a close with `reason`."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        # Without the denial extension the server can only answer 403.
        await websocket.close(POLICY_VIOLATION, websocket_close_reason(reason))
