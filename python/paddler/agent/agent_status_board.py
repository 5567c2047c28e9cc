"""What this agent reports about itself; every part of the agent writes here,
the management socket client sends it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from paddler.protocol.agent_status import AgentIssue, AgentStateApplicationStatus, AgentStatus


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
    # The balancer's id of the last state applied (or found not appliable); None: none yet.
    applied_state_id: int | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Set for changes that must each reach the balancer (a new application
    # status), unlike download progress, which may be sampled.
    urgent: asyncio.Event = field(default_factory=asyncio.Event)

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
