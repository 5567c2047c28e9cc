"""A local HTTP server that serves model downloads the way a hostile or broken
server would, on a thread, for tests of the agent's URL downloads.

    /model.gguf                  the real SmolLM2 file
    /oversized/model.gguf        headers that announce `announced_bytes`, and no body
    /endless/model.gguf          a chunked stream with no length that never ends
    /loop/model.gguf             a redirect to itself, forever
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.model_cards import smollm2

CHUNK = 256 * 1024


class HostileModelServer:
    def __init__(self, announced_bytes: int = 10 * 2**30) -> None:
        self.model = smollm2().read_bytes()
        self.announced_bytes = announced_bytes
        # Bytes of the endless stream written before the client hung up.
        self.endless_sent = 0
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.paths.append(self.path)
                if self.path == "/model.gguf":
                    self._send_model()
                elif self.path == "/oversized/model.gguf":
                    self.send_response(200)
                    self.send_header("Content-Length", str(owner.announced_bytes))
                    self.end_headers()
                    self.close_connection = True
                elif self.path == "/endless/model.gguf":
                    self._send_endless()
                elif self.path == "/loop/model.gguf":
                    self.send_response(302)
                    self.send_header("Location", "/loop/model.gguf")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)

            def _send_model(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.model)))
                self.end_headers()
                self.wfile.write(owner.model)

            def _send_endless(self) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"\0" * CHUNK
                framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                self.close_connection = True
                try:
                    while True:
                        self.wfile.write(framed)
                        owner.endless_sent += len(chunk)
                except OSError:
                    pass  # the client hung up, as it should

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@contextmanager
def hostile_model_server(announced_bytes: int = 10 * 2**30) -> Iterator[HostileModelServer]:
    server = HostileModelServer(announced_bytes)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
