"""One model pool at run time: its settings, its buffer, its requests in flight."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from paddler.balancer.dispatch.buffered_request_manager import BufferedRequestManager
from paddler.protocol.balancer_desired_state import BalancerDesiredState
from paddler.protocol.model_pool import ModelPoolSettings


def applicable_state(desired: BalancerDesiredState) -> dict[str, Any]:
    """What agents apply: the desired state with the chat template override
    resolved (it only counts when `use_chat_template_override` is set)."""
    state = desired.model_dump(mode="json")
    if not desired.use_chat_template_override:
        state["chat_template_override"] = None
    del state["use_chat_template_override"]
    return state


# Enough for the panel to show what happened lately, bounded for a long-running balancer.
_PLACEMENTS_KEPT = 20


class ModelPool:
    def __init__(self, name: str, settings: ModelPoolSettings | None, buffer: BufferedRequestManager) -> None:
        self.name = name
        self.buffer = buffer
        # Requests taken for this pool and not ended yet (buffered or running).
        self.in_flight = 0
        self.last_request_at = time.monotonic()
        # Deleted: it takes no new request and goes once its last one ends.
        self.deleting = False
        self.settings = ModelPoolSettings()
        # None until a desired state is set: agents get nothing to apply.
        self.applicable_state: dict[str, Any] | None = None
        # One more at every change of the settings: agents get the state again.
        self.version = 0
        # The placement's latest decisions that gave this pool an agent, oldest first.
        self.placements: deque[dict[str, Any]] = deque(maxlen=_PLACEMENTS_KEPT)
        if settings is not None:
            self.configure(settings)

    def configure(self, settings: ModelPoolSettings) -> None:
        self.settings = settings
        self.applicable_state = applicable_state(settings.desired_state)
        self.version += 1

    def names(self) -> list[str]:
        """Every OpenAI `model` that selects this pool."""
        return [self.name, *self.settings.aliases]

    def over_concurrency(self) -> bool:
        limit = self.settings.max_concurrency
        return limit is not None and self.in_flight >= limit

    def request_started(self) -> None:
        self.in_flight += 1
        self.last_request_at = time.monotonic()

    def request_ended(self) -> None:
        self.in_flight -= 1
        self.last_request_at = time.monotonic()
