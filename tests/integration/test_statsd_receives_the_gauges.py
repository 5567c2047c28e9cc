import asyncio
import socket

from tests.integration.conftest import Cluster


async def test_statsd_receives_the_gauges(cluster: Cluster) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as collector:
        collector.bind(("127.0.0.1", 0))
        collector.setblocking(False)
        port = collector.getsockname()[1]
        await cluster.start_balancer(
            "--statsd-addr",
            f"127.0.0.1:{port}",
            "--statsd-prefix",
            "test_",
            "--statsd-reporting-interval",
            "50",
        )

        packet = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(collector, 4096), 10)

    assert packet.decode().splitlines() == [
        "test_slots_processing:0|g",
        "test_slots_total:0|g",
        "test_requests_buffered:0|g",
    ]
