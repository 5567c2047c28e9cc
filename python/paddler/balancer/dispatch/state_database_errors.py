"""What a state database raises when a change cannot be stored."""

from __future__ import annotations

from paddler.protocol.model_pool import ModelPoolSettings


class StateDatabaseError(Exception):
    """The state database cannot be opened or read (a bad URL, a file that holds no pools)."""


class StateDatabaseUnavailable(Exception):
    """The state database cannot be reached now; the message names it. Changes are refused
    (503) and the balancer serves with the last state it saw."""


class StateConflict(Exception):
    """Another balancer changed the pools since this one last saw them: these are the pools now."""

    def __init__(self, pools: dict[str, ModelPoolSettings]) -> None:
        super().__init__("the model pools were changed by another balancer")
        self.pools = pools
