"""A chunked stream with no length is stopped as soon as it passes
--max-model-download-bytes, and what it left on disk is removed."""

import hashlib

from tests.hostile_model_server import hostile_model_server
from tests.integration.conftest import Cluster, smollm2_state

CEILING = 16 * 2**20


async def test_a_url_model_stream_that_passes_the_download_ceiling_is_stopped_and_removed(
    cluster: Cluster,
) -> None:
    with hostile_model_server() as server:
        await cluster.start_balancer()
        cluster.start_agent("agent-0", extra=("--max-model-download-bytes", str(CEILING)))
        endless = server.url("/endless/model.gguf")
        await cluster.put_state({"model": {"Url": {"url": endless}}})
        agents = await cluster.wait_for_agents(
            lambda agents: (
                bool(agents) and agents[0]["state_application_status"] == "AttemptedAndNotAppliable"
            ),
            "the endless download to be stopped",
        )
        (issue,) = agents[0]["issues"]
        assert issue["ModelCannotBeDownloaded"] == (
            f"{endless}: the download passed --max-model-download-bytes ({CEILING}) without ending; "
            "stopped, and what it had received removed"
        )
        assert server.endless_sent >= CEILING
        folder = cluster.tmp_path / "cache" / "url" / hashlib.sha256(endless.encode()).hexdigest()[:24]
        assert not any(folder.glob("*")), list(folder.glob("*"))
        assert agents[0]["download_current"] == agents[0]["download_total"] == 0

        await cluster.put_state(smollm2_state())
        await cluster.assert_agents_alive_and_serving()
