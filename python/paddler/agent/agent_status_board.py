"""What this agent reports about itself; every part of the agent writes here,
the management socket client sends it."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from paddler.protocol.agent_status import AgentIssue, AgentStateApplicationStatus, AgentStatus


class FanoutEvent:
    """An event that each connection to a balancer also sees on its own copy: a connection
    that clears its copy after sending never hides the change from another connection."""

    def __init__(self) -> None:
        self._own = asyncio.Event()
        self._copies: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()

    def subscribe(self) -> asyncio.Event:
        """A copy, set with every `set` from now on (and now: the first status is due)."""
        copy = asyncio.Event()
        copy.set()
        self._copies.add(copy)
        return copy

    @property
    def subscribers(self) -> int:
        return len(self._copies)

    def set(self) -> None:
        self._own.set()
        for copy in self._copies:
            copy.set()

    def clear(self) -> None:
        self._own.clear()

    def is_set(self) -> bool:
        return self._own.is_set()

    async def wait(self) -> None:
        await self._own.wait()


@dataclass
class AgentStatusBoard:
    desired_slots_total: int
    state_application_status: AgentStateApplicationStatus = AgentStateApplicationStatus.FRESH
    issues: list[AgentIssue] = field(default_factory=list)
    model_path: str | None = None
    uses_chat_template_override: bool = False
    slots_total: int = 0
    download_filename: str | None = None
    download_current: int = 0
    download_total: int = 0
    download_indeterminate: bool = False
    changed: FanoutEvent = field(default_factory=FanoutEvent)
    # Set for changes that must each reach the balancers (a new application
    # status; slots taken or freed when several balancers share them), unlike
    # download progress, which may be sampled.
    urgent: FanoutEvent = field(default_factory=FanoutEvent)

    def update(self, **values: object) -> None:
        if (
            values.get("state_application_status", self.state_application_status)
            != self.state_application_status
        ):
            self.urgent.set()
        for name, value in values.items():
            setattr(self, name, value)
        self.changed.set()

    def snapshot(self, slots_processing: int) -> AgentStatus:
        """The status to send, with the reconciler's count of requests being served."""
        return AgentStatus(
            slots_processing=slots_processing,
            slots_total=self.slots_total,
            desired_slots_total=self.desired_slots_total,
            download_current=self.download_current,
            download_total=self.download_total,
            download_filename=self.download_filename,
            download_indeterminate=self.download_indeterminate,
            issues=list(self.issues),
            model_path=self.model_path,
            state_application_status=self.state_application_status,
            uses_chat_template_override=self.uses_chat_template_override,
        )
