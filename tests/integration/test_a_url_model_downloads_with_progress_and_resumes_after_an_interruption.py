import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster
from tests.model_cards import smollm2

CHUNK = 256 * 1024


class ModelServer:
    """Serves the model file; the first download is cut off after a third of it."""

    def __init__(self, model: Path) -> None:
        self.content = model.read_bytes()
        self.ranges: list[str | None] = []
        self.first_sent = len(self.content) // 3
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requested = self.headers.get("Range")
                owner.ranges.append(requested)
                start = int(requested.removeprefix("bytes=").rstrip("-")) if requested else 0
                body = owner.content[start:]
                self.send_response(206 if requested else 200)
                self.send_header("Content-Length", str(len(body)))
                if requested:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(owner.content) - 1}/{len(owner.content)}"
                    )
                self.end_headers()
                if not requested:
                    self.wfile.write(body[: owner.first_sent])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for offset in range(0, len(body), CHUNK):
                    self.wfile.write(body[offset : offset + CHUNK])
                    time.sleep(0.003)  # slow enough to see the progress

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/models/{model.name}"


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    server = ModelServer(smollm2())
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


async def test_a_url_model_downloads_with_progress_and_resumes_after_an_interruption(
    cluster: Cluster, model_server: ModelServer
) -> None:
    await cluster.start_balancer()
    cluster.start_agent("agent-0")
    seen: list[dict[str, Any]] = []

    def applied(agents: list[dict[str, Any]]) -> bool:
        seen.extend(agents)
        return (
            bool(agents)
            and agents[0]["state_application_status"] == "Applied"
            and agents[0]["slots_total"] > 0
        )

    await cluster.put_state(
        {"model": {"Url": {"url": model_server.url}}, "inference_parameters": {"context_size": 1024}}
    )
    agents = await cluster.wait_for_agents(applied, "the downloaded model to be applied")

    total = len(model_server.content)
    assert model_server.ranges == [None, f"bytes={model_server.first_sent}-"]
    assert any("ModelCannotBeDownloaded" in str(agent["issues"]) for agent in seen)
    in_progress = [agent for agent in seen if 0 < agent["download_current"] < total]
    assert in_progress
    assert all(agent["download_total"] == total for agent in in_progress)
    assert {agent["download_filename"] for agent in in_progress} == {smollm2().name}
    downloaded = Path(agents[0]["model_path"])
    assert downloaded.is_relative_to(cluster.tmp_path / "cache")
    assert await asyncio.to_thread(downloaded.read_bytes) == model_server.content
    assert agents[0]["download_current"] == agents[0]["download_total"] == 0
