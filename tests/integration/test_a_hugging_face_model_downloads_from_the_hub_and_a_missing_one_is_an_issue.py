import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.conftest import Cluster
from tests.model_cards import smollm2

REPO = "paddler-tests/smollm2"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Answers the two calls a file download makes: HEAD for metadata, GET for the bytes."""

    def __init__(self) -> None:
        self.content = smollm2().read_bytes()
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                owner.paths.append(self.path)
                if self.path != f"/{REPO}/resolve/main/{smollm2().name}":
                    self.send_response(404)
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"smollm2-etag"')
                self.send_header("Content-Length", str(len(owner.content)))
                self.end_headers()
                if with_body:
                    self.wfile.write(owner.content)

            def do_HEAD(self) -> None:
                self._answer(with_body=False)

            def do_GET(self) -> None:
                self._answer(with_body=True)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    thread = threading.Thread(target=hub.server.serve_forever, daemon=True)
    thread.start()
    yield hub
    hub.server.shutdown()
    hub.server.server_close()


async def test_a_hugging_face_model_downloads_from_the_hub_and_a_missing_one_is_an_issue(
    cluster: Cluster, hub: FakeHub
) -> None:
    await cluster.start_balancer()
    cluster.start_agent(
        "agent-0",
        env={
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(cluster.tmp_path / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
        },
    )
    missing = {"repo_id": "paddler-tests/missing", "filename": "model.gguf", "revision": "main"}

    await cluster.put_state({"model": {"HuggingFace": missing}})
    agents = await cluster.wait_for_agents(
        lambda agents: bool(agents) and "HuggingFaceModelDoesNotExist" in str(agents[0]["issues"]),
        "the missing repository reported as an issue",
    )
    assert agents[0]["state_application_status"] == "AttemptedAndRetrying"

    present = {"repo_id": REPO, "filename": smollm2().name, "revision": "main"}
    await cluster.put_state(
        {"model": {"HuggingFace": present}, "inference_parameters": {"context_size": 1024}}
    )
    agents = await cluster.wait_for_serving_agents(1)

    assert agents[0]["issues"] == []
    assert agents[0]["model_path"].startswith(str(cluster.tmp_path / "cache" / "huggingface"))
    assert agents[0]["model_path"].endswith(smollm2().name)
