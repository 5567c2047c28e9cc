"""Which balancer of a cluster makes the decisions that need one author: pushing desired states
to agents and placing agents in model pools. The others route requests to every agent and
follow where the leader put them (the pool each agent reports).

A balancer with a database of its own (memory://, file://) is its cluster's only balancer, so it
always leads (this class). Over etcd, the balancers elect one (etcd/etcd_leadership.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from paddler.balancer.dispatch.change_notifier import ChangeNotifier


class Leadership:
    """Always the leader: the cluster's only balancer."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.is_leader = True
        self.leader: str | None = identity
        self.changes = ChangeNotifier()

    async def run(self, shutdown: asyncio.Event) -> None:
        await shutdown.wait()

    def health(self) -> dict[str, Any]:
        return {"elected": False, "is_leader": self.is_leader, "leader": self.leader}

    def set(self, is_leader: bool, leader: str | None) -> None:
        if is_leader != self.is_leader or leader != self.leader:
            self.is_leader = is_leader
            self.leader = leader
            self.changes.notify()
