import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.conftest import Cluster, smollm2_state
from tests.model_cards import smollm2


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Serves a 100 MB file at about 5 MB/s: a download that takes far longer than the test."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(100 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b"\0" * 256 * 1024)
                    time.sleep(0.05)
            except OSError:
                pass  # the agent gave up on it, as it should

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.gguf"
    server.shutdown()
    server.server_close()


async def test_a_new_desired_state_cuts_short_the_download_of_the_old_one(
    cluster: Cluster, slow_server: str
) -> None:
    await cluster.start_balancer()
    cluster.start_agent("agent-0")
    await cluster.put_state({"model": {"Url": {"url": slow_server}}})
    await cluster.wait_for_agents(
        lambda agents: bool(agents) and agents[0]["download_current"] > 0, "the slow download to start"
    )
    started = time.monotonic()

    await cluster.put_state(smollm2_state())
    agents = await cluster.wait_for_serving_agents(1)

    assert time.monotonic() - started < 10
    assert agents[0]["model_path"] == str(smollm2())
    assert agents[0]["download_current"] == 0
    assert agents[0]["issues"] == []
