"""paddler-client reads SSE streams with httpx's default 5 s read timeout: a stream of a
cluster where nothing changes must still send something (keep-alive comments) in time."""

import asyncio
from collections.abc import AsyncGenerator
from typing import cast

import pytest
from paddler_client import ClientManagement
from paddler_client.agent_controller_pool_snapshot import AgentControllerPoolSnapshot

from tests.integration.conftest import Cluster


async def test_a_quiet_agents_stream_outlives_the_official_clients_read_timeout(cluster: Cluster) -> None:
    await cluster.start_balancer()
    async with ClientManagement(cluster.management_url) as client:
        # An async generator, though typed as an iterator by the client.
        stream = cast(AsyncGenerator[AgentControllerPoolSnapshot, None], client.agents_stream())
        first = await anext(stream)
        # Nothing changes: the next snapshot never comes, and no ReadTimeout may come either.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), timeout=7.0)
        await stream.aclose()

    assert first.agents == []
