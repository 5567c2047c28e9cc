"""Sends Paddler's gauges to StatsD over UDP, when `--statsd-addr` is given."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.http.http_server import split_address

logger = logging.getLogger(__name__)


class StatsdReporter:
    def __init__(
        self,
        address: str,
        prefix: str,
        interval_s: float,
        pool: AgentControllerPool,
        buffered_requests: BufferBudget,
    ) -> None:
        self._target = split_address(address)
        self._prefix = prefix
        self._interval_s = interval_s
        self._pool = pool
        self._buffered_requests = buffered_requests

    def packet(self) -> bytes:
        gauges = {
            "slots_processing": self._pool.slots_processing,
            "slots_total": self._pool.slots_total,
            "requests_buffered": self._buffered_requests.buffered_requests_current,
        }
        return "\n".join(f"{self._prefix}{name}:{value}|g" for name, value in gauges.items()).encode()

    async def run(self, shutdown: asyncio.Event) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.setblocking(False)
            while not shutdown.is_set():
                try:
                    udp.sendto(self.packet(), self._target)
                except OSError as error:
                    # StatsD is best effort: a missing collector never stops the balancer.
                    logger.debug("statsd send failed: %s", error)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval_s):
                        await shutdown.wait()
