"""A URL whose Content-Length is over --max-model-download-bytes is refused
before a byte is written; a model under the ceiling still downloads."""

import hashlib
from typing import Any

from tests.hostile_model_server import hostile_model_server
from tests.integration.conftest import Cluster

CEILING = 100_000_000  # SmolLM2 (98 MB) fits


def issue_text(agent: dict[str, Any]) -> str:
    return " ".join(str(problem) for problem in agent["issues"])


async def test_a_url_model_larger_than_the_download_ceiling_is_refused_from_its_content_length(
    cluster: Cluster,
) -> None:
    with hostile_model_server(announced_bytes=10 * 2**30) as server:
        await cluster.start_balancer()
        cluster.start_agent("agent-0", extra=("--max-model-download-bytes", str(CEILING)))
        oversized = server.url("/oversized/model.gguf")
        await cluster.put_state({"model": {"Url": {"url": oversized}}})
        agents = await cluster.wait_for_agents(
            lambda agents: bool(agents) and "ModelCannotBeDownloaded" in issue_text(agents[0]),
            "the oversized model to be refused",
        )
        (issue,) = agents[0]["issues"]
        assert issue["ModelCannotBeDownloaded"] == (
            f"{oversized}: the model is {10 * 2**30} bytes, more than --max-model-download-bytes ({CEILING})"
        )
        # Trying again would only ask for the same file.
        assert agents[0]["state_application_status"] == "AttemptedAndNotAppliable"
        folder = cluster.tmp_path / "cache" / "url" / hashlib.sha256(oversized.encode()).hexdigest()[:24]
        assert not any(folder.glob("*")), list(folder.glob("*"))

        await cluster.put_state(
            {
                "model": {"Url": {"url": server.url("/model.gguf")}},
                "inference_parameters": {"context_size": 1024},
            }
        )
        await cluster.assert_agents_alive_and_serving()
