"""Per-request inbox of what an agent sent back; one reader, drained in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


# Not frozen, but never changed: one is built per token or per request on the
# balancer's hot path, where a frozen dataclass costs more to build.
@dataclass(slots=True)
class AgentStreamed:
    """A non-final message: a token, or one embedding. `response` is the
    response variant the client gets, e.g. {"GeneratedToken": {"ContentToken": "x"}}."""

    response: dict[str, Any]


@dataclass(slots=True)
class AgentFinished:
    """The final message: the last response variant, e.g. {"GeneratedToken": {"Done": ...}}."""

    response: Any


@dataclass(slots=True)
class AgentFailed:
    """A JSON-RPC error from the agent."""

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class AgentGone:
    """The agent's connection closed before the request ended."""


@dataclass(frozen=True, slots=True)
class BalancerStopping:
    """The balancer is stopping and the shutdown grace period is over: the request ends now."""


MailboxItem = AgentStreamed | AgentFinished | AgentFailed | AgentGone | BalancerStopping


class Mailbox:
    """What the agent sent for one request, handed to its listener in batches:
    everything that arrived during one event-loop step, in one call."""

    __slots__ = ("_items", "_listener", "_scheduled", "response_kind")

    def __init__(self, response_kind: str) -> None:
        # "GeneratedToken" or "Embedding": the variant results are wrapped in.
        self.response_kind = response_kind
        self._items: list[MailboxItem] = []
        self._listener: Callable[[list[MailboxItem]], None] | None = None
        self._scheduled = False

    def listen(self, listener: Callable[[list[MailboxItem]], None]) -> None:
        self._listener = listener
        if self._items:
            self._schedule()

    def detach(self) -> None:
        """No more deliveries: the request left this agent."""
        self._listener = None
        self._items.clear()

    def put(self, item: MailboxItem) -> None:
        self._items.append(item)
        if self._listener is not None and not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        # Later in this loop step, not now: the rest of the agent's frame is
        # delivered in the same call, and the listener never runs inside the
        # agent socket's frame handling.
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._deliver)

    def _deliver(self) -> None:
        self._scheduled = False
        listener = self._listener
        if listener is None or not self._items:
            return
        items, self._items = self._items, []
        listener(items)
