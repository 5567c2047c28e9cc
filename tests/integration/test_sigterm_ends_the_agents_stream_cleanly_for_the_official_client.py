"""Paddler ends its SSE streams when it shuts down: the official client's `agents_stream`
loop ends. A stream cut when the server's grace period runs out would raise instead."""

import asyncio
import signal

import httpx
from paddler_client import ClientManagement

from tests.integration.conftest import Cluster


async def test_sigterm_ends_the_agents_stream_cleanly_for_the_official_client(cluster: Cluster) -> None:
    balancer = await cluster.start_balancer()
    snapshots = []

    async with ClientManagement(cluster.management_url, httpx.AsyncClient(timeout=30.0)) as client:

        async def watch() -> None:
            async for snapshot in client.agents_stream():
                snapshots.append(snapshot)
                if len(snapshots) == 1:
                    balancer.popen.send_signal(signal.SIGTERM)

        await asyncio.wait_for(watch(), timeout=15)

    assert snapshots[0].agents == []
    assert balancer.popen.wait(15) == 0
