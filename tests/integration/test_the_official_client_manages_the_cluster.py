from collections.abc import AsyncIterator
from typing import TypeVar

from paddler_client import ClientManagement
from paddler_client.agent_desired_model import AgentDesiredModel
from paddler_client.agent_state_application_status import AgentStateApplicationStatus
from paddler_client.balancer_desired_state import BalancerDesiredState
from paddler_client.chat_template import ChatTemplate
from paddler_client.inference_parameters import InferenceParameters

from tests.integration.conftest import Cluster
from tests.model_cards import smollm2

T = TypeVar("T")


async def _first(stream: AsyncIterator[T]) -> AsyncIterator[T]:
    async for item in stream:
        yield item
        return


TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


async def test_the_official_client_manages_the_cluster(cluster: Cluster) -> None:
    await cluster.start_balancer()
    cluster.start_agent("agent-0")
    async with ClientManagement(cluster.management_url) as client:
        assert await client.get_health() == "OK"
        await client.put_balancer_desired_state(
            BalancerDesiredState(
                model=AgentDesiredModel.local_to_agent(str(smollm2())),
                inference_parameters=InferenceParameters(context_size=1024, n_batch=512),
                chat_template_override=ChatTemplate(content=TEMPLATE),
                use_chat_template_override=True,
            )
        )
        async for snapshot in client.agents_stream():
            if (
                snapshot.agents
                and snapshot.agents[0].state_application_status == AgentStateApplicationStatus.APPLIED
            ):
                break
        agents = await client.get_agents()
        agent = agents.agents[0]
        state = await client.get_balancer_desired_state()
        buffered = await client.get_buffered_requests()
        buffered_snapshots = [snapshot async for snapshot in _first(client.buffered_requests_stream())]
        metadata = await client.get_model_metadata(agent.id)
        override = await client.get_chat_template_override(agent.id)
        metrics = await client.get_metrics()

    assert agent.name == "agent-0"
    assert agent.slots_total == 2
    assert agent.uses_chat_template_override
    assert agent.model_path == str(smollm2())
    assert state.model.local_path == str(smollm2())
    assert state.inference_parameters.context_size == 1024
    assert buffered.buffered_requests_current == 0
    assert [snapshot.buffered_requests_current for snapshot in buffered_snapshots] == [0]
    assert metadata is not None
    assert metadata.metadata["general.architecture"] == "llama"
    assert override is not None
    assert override.content == TEMPLATE
    assert "paddler_slots_total 2.0" in metrics
