import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.image_data_urls import image_data_url, image_message
from tests.integration.conftest import Cluster, smollm2_state
from tests.random_projector import IMAGE_TOKENS

CHUNK = 32 * 1024


@pytest.fixture
def projection_url(random_projector: Path) -> Iterator[str]:
    content = random_projector.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            for offset in range(0, len(content), CHUNK):
                self.wfile.write(content[offset : offset + CHUNK])
                time.sleep(0.05)  # slow enough to see the progress

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/projections/{random_projector.name}"
    server.shutdown()
    server.server_close()


async def test_a_multimodal_projection_from_a_url_downloads_with_progress_and_serves_images(
    cluster: Cluster, projection_url: str, random_projector: Path
) -> None:
    await cluster.start_balancer()
    cluster.start_agent("agent-0")
    seen: list[dict[str, Any]] = []

    def serving(agents: list[dict[str, Any]]) -> bool:
        seen.extend(agents)
        return (
            bool(agents)
            and agents[0]["state_application_status"] == "Applied"
            and agents[0]["slots_total"] > 0
        )

    await cluster.put_state({**smollm2_state(), "multimodal_projection": {"Url": {"url": projection_url}}})
    await cluster.wait_for_agents(serving, "the agent serving with the downloaded projection")

    downloading = [agent for agent in seen if agent["download_filename"] == random_projector.name]
    assert downloading, "no download progress of the projection was reported"
    assert any(0 < agent["download_current"] < agent["download_total"] for agent in downloading)
    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_conversation_history",
        json={"conversation_history": [image_message(image_data_url(seed=3))], "max_tokens": 4},
    )
    last = orjson.loads(response.text.splitlines()[-1])
    assert (
        last["Response"]["response"]["GeneratedToken"]["Done"]["usage"]["input_image_tokens"] == IMAGE_TOKENS
    )
