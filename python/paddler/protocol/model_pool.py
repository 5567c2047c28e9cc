"""A model pool: a named desired state and how many agents serve it (`/api/v1/pools`).

The pool named `default` is the cluster's desired state of Paddler's single-state endpoints
(`/api/v1/balancer_desired_state`); a cluster with only that pool behaves as one without pools.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Self

from pydantic import Field, TypeAdapter, model_validator

from paddler.protocol.balancer_desired_state import BalancerDesiredState
from paddler.protocol.strict_model import StrictModel

DEFAULT_POOL: Final = "default"
# A pool's name is a path segment of /api/v1/pools/{name} and an OpenAI `model`.
POOL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
POOL_NAME_RULE: Final = "1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or a digit"
MAX_ALIASES: Final = 32
# Each pool holds a buffer and a desired state in memory and in the state database.
MAX_POOLS: Final = 256

Alias = Annotated[str, Field(min_length=1, max_length=256)]


class ModelPoolSettings(StrictModel):
    """The body of `PUT /api/v1/pools/{name}`."""

    desired_state: BalancerDesiredState = Field(default_factory=BalancerDesiredState)
    # Other OpenAI `model` names that select this pool.
    aliases: list[Alias] = Field(default_factory=list, max_length=MAX_ALIASES)
    # Agents the pool keeps even when idle (unpinned agents are placed here first).
    min_agents: int = Field(default=0, ge=0)
    # Agents it may hold at most; null: no limit.
    max_agents: int | None = Field(default=None, ge=1)
    # Seconds without a request before its agents may be given to another pool.
    keep_alive_s: float = Field(default=300.0, ge=0)
    # Requests in flight across the pool (running and buffered); over it, 429. null: no limit.
    max_concurrency: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_agents is not None and self.min_agents > self.max_agents:
            raise ValueError(f"min_agents ({self.min_agents}) is above max_agents ({self.max_agents})")
        if len(set(self.aliases)) != len(self.aliases):
            raise ValueError("an alias is listed twice")
        return self


MODEL_POOL_SETTINGS = TypeAdapter(ModelPoolSettings)


class StoredPools(StrictModel):
    """What a state database holds: every pool by name."""

    pools: dict[str, ModelPoolSettings]


STORED_POOLS = TypeAdapter(StoredPools)


def pool_name_problem(name: str) -> str | None:
    """Why `name` cannot name a pool, or None."""
    if POOL_NAME.fullmatch(name) is None:
        return f"the pool name {name[:140]!r} is not valid: {POOL_NAME_RULE}"
    return None
