"""What each model pool asks of the agents, as the placement reads it: this balancer's own
buffers and requests, plus what the cluster's other balancers report (several balancers over
etcd: the leader places agents for the requests every balancer holds).

A balancer's report is a snapshot per pool: requests buffered and in flight, how long the first
buffered one has waited and how long since the pool's last request, with the wall-clock time it
was taken, so the leader ages it on its own clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from paddler.balancer.dispatch.change_notifier import ChangeNotifier
from paddler.balancer.dispatch.model_pool import ModelPool

# A report older than this is ignored: its balancer stopped reporting and its lease has not
# run out yet (a SIGKILLed balancer's key stays until then).
_STALE_AFTER_S = 10.0


@dataclass(frozen=True, slots=True)
class ReportedDemand:
    buffered: int
    in_flight: int
    # Seconds the first buffered request had waited, and since the pool's last request, at `at`.
    waited_s: float | None
    idle_s: float
    at: float


class PoolDemand:
    def __init__(self) -> None:
        # Balancer identity -> pool name -> its report.
        self.reported: dict[str, dict[str, ReportedDemand]] = {}
        # Another balancer's report came or went (the placement looks again).
        self.changes = ChangeNotifier()

    # -- what other balancers report ---------------------------------------------

    def report(self, balancer: str, pools: dict[str, ReportedDemand]) -> None:
        if self.reported.get(balancer) != pools:
            self.reported[balancer] = pools
            self.changes.notify()

    def forget(self, balancer: str) -> None:
        if self.reported.pop(balancer, None) is not None:
            self.changes.notify()

    def _reports(self, pool: ModelPool) -> list[ReportedDemand]:
        now = time.time()
        found = []
        for pools in self.reported.values():
            reported = pools.get(pool.name)
            if reported is not None and now - reported.at < _STALE_AFTER_S:
                found.append(reported)
        return found

    # -- the pool's demand, this balancer's and the others' -----------------------

    def buffered(self, pool: ModelPool) -> int:
        return pool.buffer.buffered_requests_current + sum(r.buffered for r in self._reports(pool))

    def in_flight(self, pool: ModelPool) -> int:
        return pool.in_flight + sum(r.in_flight for r in self._reports(pool))

    def waited_s(self, pool: ModelPool, now: float) -> float | None:
        """How long the pool's longest-waiting buffered request has waited, anywhere."""
        queued_at = pool.buffer.oldest_queued_at
        waits = [now - queued_at] if queued_at is not None else []
        wall = time.time()
        waits += [r.waited_s + (wall - r.at) for r in self._reports(pool) if r.waited_s is not None]
        return max(waits) if waits else None

    def idle_s(self, pool: ModelPool, now: float) -> float:
        """Seconds since the pool's last request began or ended, anywhere."""
        wall = time.time()
        return min([now - pool.last_request_at, *(r.idle_s + (wall - r.at) for r in self._reports(pool))])


def demand_report(pools: dict[str, ModelPool], now: float) -> dict[str, Any]:
    """This balancer's demand per pool, as it reports it to the others (JSON)."""
    at = time.time()
    report: dict[str, Any] = {}
    for name, pool in pools.items():
        queued_at = pool.buffer.oldest_queued_at
        report[name] = {
            "buffered": pool.buffer.buffered_requests_current,
            "in_flight": pool.in_flight,
            # Rounded: a report changes when the demand does, not at every tick of the clock.
            "waited_s": round(now - queued_at, 1) if queued_at is not None else None,
            "idle_s": round(min(now - pool.last_request_at, 3600.0), 0),
            "at": at,
        }
    return report


def parse_report(value: Any) -> dict[str, ReportedDemand] | None:
    """A report from another balancer, or None when it is not one."""
    if not isinstance(value, dict):
        return None
    parsed: dict[str, ReportedDemand] = {}
    try:
        for name, fields in value.items():
            waited = fields.get("waited_s")
            parsed[str(name)] = ReportedDemand(
                buffered=max(0, int(fields["buffered"])),
                in_flight=max(0, int(fields["in_flight"])),
                waited_s=None if waited is None else float(waited),
                idle_s=float(fields["idle_s"]),
                at=float(fields["at"]),
            )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return parsed
