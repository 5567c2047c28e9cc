"""The web admin panel: the React build of frontend/, and a config.json that says where the APIs are.

The panel talks to the management and inference services straight from the
browser; `panel_origins` gives the origins those services must allow (CORS), and
`content_security_policy` lets the panel's pages connect to those services only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import socket
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paddler.balancer.http.http_server import HttpServer, TlsFiles, split_address
from paddler.balancer.http.json_response import health

# Where `npm run build` (frontend/vite.config.ts) and the CMake install put the panel.
PANEL_FILES = Path(__file__).resolve().parents[2] / "web_admin_panel"

# Vite names every asset after its content hash: a browser may keep them forever.
_IMMUTABLE = "public, max-age=31536000, immutable"

_NOT_BUILT_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:4rem auto;padding:0 1rem;color:#1d2330}"
    "code,pre{background:#eef1f6;border-radius:4px;padding:0.1rem 0.3rem}pre{padding:0.7rem}"
)
_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paddler admin panel not built</title>
<style>{style}</style></head>
<body><h1>The web admin panel is not built</h1>
<p>This paddler installation has no panel files in <code>{folder}</code>: it was installed from a
source checkout without Node.js.</p>
<p>Build them from the source tree (Node.js 20 or newer), then reload this page:</p>
<pre>cd frontend
npm ci
npm run build</pre>
<p>or reinstall paddler on a machine with Node.js (<code>pip install .</code> builds the panel too).</p>
<p>The APIs work without the panel: management <code>{scheme}://{management}</code>,
inference <code>{scheme}://{inference}</code>.</p>
</body></html>
"""

logger = logging.getLogger(__name__)


def panel_origins(address: str, tls: bool = False) -> list[str]:
    """The origins a browser may show for a panel served at `address` (HOST:PORT), over https with `tls`.

    A panel on every interface (0.0.0.0, ::) is reached by names that cannot
    all be known: the loopback names and this machine's own names and addresses
    are allowed; others need `--management-cors-allowed-host` and
    `--inference-cors-allowed-host`.
    """
    host, port = split_address(address)
    hosts: list[str] = [host]
    if host in ("127.0.0.1", "localhost", "::1"):
        hosts = ["127.0.0.1", "localhost", "[::1]"]
    elif host in ("0.0.0.0", "::", ""):
        hosts = ["127.0.0.1", "localhost", "[::1]", *_machine_names()]
    origins: list[str] = []
    for name in hosts:
        shown = f"[{name}]" if ":" in name and not name.startswith("[") else name
        scheme, default_port = ("https", 443) if tls else ("http", 80)
        origin = f"{scheme}://{shown}" if port == default_port else f"{scheme}://{shown}:{port}"
        if origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(management_addr: str, inference_addr: str, tls: bool = False) -> str:
    """The panel's policy: its own scripts and styles only, no framing, and connections to
    itself and to the two APIs it calls (HTTP and SSE, and the inference WebSocket; https and
    wss with `tls`).

    An API bound to every interface is reached through the host name the
    browser used for the panel (frontend/src/api/panelConfig.ts): any host
    with that port. So is one on an IPv6 address, which CSP cannot name.
    """
    connect = ["'self'"]
    for address in (management_addr, inference_addr):
        host, port = split_address(address)
        shown = "*" if host in ("0.0.0.0", "::", "") or ":" in host else host
        for scheme in ("https", "wss") if tls else ("http", "ws"):
            source = f"{scheme}://{shown}:{port}"
            if source not in connect:
                connect.append(source)
    not_built_style = base64.b64encode(hashlib.sha256(_NOT_BUILT_STYLE.encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # The built panel has no inline style; the page shown when it is not built has one.
            f"style-src 'self' 'sha256-{not_built_style}'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class _SecurityHeaders:
    """Adds the panel's security headers to every answer of the panel service."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self._app = app
        self._headers = [
            (b"content-security-policy", policy.encode()),
            # frame-ancestors says it too; older browsers read only this one.
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self._app(scope, receive, send_with_headers)


def _machine_names() -> list[str]:
    names = [socket.gethostname(), socket.getfqdn()]
    try:
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
            names.append(str(sockaddr[0]))
    except OSError as error:
        # The panel is still reachable by name and loopback; only its own addresses are unknown.
        logger.debug("this machine's addresses are unknown: %s", error)
    return [name for name in dict.fromkeys(names) if name]


class WebAdminPanelService:
    def __init__(
        self,
        address: str,
        panel_config: dict[str, Any],
        files: Path = PANEL_FILES,
        tls: TlsFiles | None = None,
    ) -> None:
        self._files = files
        # The panel calls the APIs over https and wss when they are served over TLS.
        self._config = orjson.dumps({**panel_config, "tls": tls is not None})
        self._not_built = _NOT_BUILT.format(
            style=_NOT_BUILT_STYLE,
            scheme="https" if tls else "http",
            folder=html.escape(str(files)),
            management=html.escape(str(panel_config.get("management_addr", ""))),
            inference=html.escape(str(panel_config.get("inference_addr", ""))),
        )
        routes = [
            Route("/health", health),
            Route("/config.json", self._panel_config),
            Route("/{path:path}", self._static),
        ]
        policy = content_security_policy(
            str(panel_config["management_addr"]), str(panel_config["inference_addr"]), tls is not None
        )
        self.app = _SecurityHeaders(Starlette(routes=routes), policy)
        self._server = HttpServer(self.app, address, "web admin panel", tls=tls)

    async def run(self, shutdown: asyncio.Event) -> None:
        await self._server.run(shutdown)

    async def _panel_config(self, _request: Request) -> Response:
        return Response(self._config, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def _static(self, request: Request) -> Response:
        index = self._files / "index.html"
        if not index.is_file():
            # A page that says what to do, not a bare 404 (503: the panel is missing, not the page).
            return HTMLResponse(self._not_built, status_code=503)
        path: str = request.path_params["path"]
        if path.startswith("assets/"):
            candidate = (self._files / path).resolve()
            if candidate.is_relative_to(self._files.resolve()) and candidate.is_file():
                return FileResponse(candidate, headers={"Cache-Control": _IMMUTABLE})
            return Response("no such asset", status_code=404, media_type="text/plain")
        # Every other path is the single page (it routes by the URL's #fragment);
        # never cached, so a new build shows at the next load.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
