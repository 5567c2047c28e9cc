"""Per-request inbox of what an agent sent back; one reader, drained in batches."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AgentStreamed:
    """A non-final message: a token, or one embedding. `response` is the
    response variant the client gets, e.g. {"GeneratedToken": {"ContentToken": "x"}}."""

    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentFinished:
    """The final message: the last response variant, e.g. {"GeneratedToken": {"Done": ...}}."""

    response: Any


@dataclass(frozen=True, slots=True)
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
    __slots__ = ("_items", "_waiter", "response_kind")

    def __init__(self, response_kind: str) -> None:
        # "GeneratedToken" or "Embedding": the variant results are wrapped in.
        self.response_kind = response_kind
        self._items: deque[MailboxItem] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: MailboxItem) -> None:
        self._items.append(item)
        if self._waiter is not None:
            _wake(self._waiter)

    async def get_batch(self, timeout_s: float) -> list[MailboxItem] | None:
        """Everything that arrived since the last call, waiting up to `timeout_s` if nothing did.

        None when nothing arrived in time.
        """
        if not self._items:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            # A timer handle rather than asyncio.timeout: this runs once per
            # relayed batch, and the handle is a fraction of the cost.
            timer = loop.call_later(timeout_s, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if not self._items:
                return None
        items = list(self._items)
        self._items.clear()
        return items


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
