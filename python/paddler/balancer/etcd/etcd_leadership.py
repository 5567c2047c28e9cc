"""The leader of the balancers that share one etcd: the balancer whose lease holds
`PREFIX/leader`. When it dies its lease runs out (`LEASE_TTL_S`) and another takes the key; one
that stops cleanly revokes its lease, so another takes over at once. A leader that cannot renew
its lease before it would run out steps down by itself: two leaders never act at once for longer
than a renewal takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from paddler.balancer.dispatch.leadership import Leadership
from paddler.balancer.etcd.etcd_client import EtcdClient, EtcdUnavailable

logger = logging.getLogger(__name__)

LEASE_TTL_S = 5
# The lease is renewed this often; the leader steps down once it has failed to for this long.
_RENEW_EVERY_S = LEASE_TTL_S / 4
_STEP_DOWN_AFTER_S = LEASE_TTL_S - 1.0
_RETRY_S = 0.5


class EtcdLeadership(Leadership):
    def __init__(self, identity: str, client: EtcdClient, prefix: str) -> None:
        super().__init__(identity)
        self.is_leader = False
        self.leader = None
        self._client = client
        self._key = f"{prefix}/leader".encode()
        self._lease = 0

    def health(self) -> dict[str, Any]:
        return {"elected": True, "is_leader": self.is_leader, "leader": self.leader, "ttl_s": LEASE_TTL_S}

    async def run(self, shutdown: asyncio.Event) -> None:
        # A follower waits on its watch for as long as the leader lives: cancelled at shutdown.
        campaigning = asyncio.create_task(self._campaign_forever())
        try:
            await shutdown.wait()
        finally:
            campaigning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await campaigning
            await self._resign()

    async def _campaign_forever(self) -> None:
        while True:
            try:
                await self._campaign()
            except EtcdUnavailable as error:
                logger.debug("leader election: %s", error)
            except Exception:
                logger.exception("leader election failed")
            self._step_down("etcd cannot be reached")
            await asyncio.sleep(_RETRY_S)

    async def _campaign(self) -> None:
        self._lease = await self._client.grant_lease(LEASE_TTL_S)
        result = await self._client.put_if(self._key, self.identity.encode(), 0, self._lease)
        if result.succeeded:
            logger.info("this balancer (%s) leads the cluster now", self.identity)
            self.set(True, self.identity)
            await self._hold()
            return
        # Someone leads: the lease is not needed, and the key is watched until it goes.
        with contextlib.suppress(EtcdUnavailable):
            await self._client.revoke_lease(self._lease)
        self._lease = 0
        holder = result.current.value.decode(errors="replace") if result.current is not None else None
        self.set(False, holder)
        if holder is not None:
            logger.info("balancer %s leads the cluster", holder)
        async for event in self._client.watch(self._key, result.revision + 1):
            if event.kind == "DELETE":
                return  # the leader went: campaign again

    async def _hold(self) -> None:
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(_RENEW_EVERY_S)
            try:
                left = await self._client.keep_alive(self._lease)
            except EtcdUnavailable as error:
                if time.monotonic() - renewed_at >= _STEP_DOWN_AFTER_S:
                    logger.warning("this balancer steps down: its lease could not be renewed (%s)", error)
                    return
                continue
            if left <= 0:
                logger.warning("this balancer steps down: its lease ran out")
                return
            renewed_at = time.monotonic()

    def _step_down(self, why: str) -> None:
        if self.is_leader:
            logger.info("this balancer no longer leads the cluster (%s)", why)
        self.set(False, None if self.is_leader else self.leader)

    async def _resign(self) -> None:
        """Stopping: another balancer takes over at once, not after the lease runs out."""
        lease, self._lease = self._lease, 0
        self.set(False, None)
        if lease:
            with contextlib.suppress(EtcdUnavailable):
                await self._client.revoke_lease(lease)
