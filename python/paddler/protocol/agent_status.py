"""What an agent reports about itself, and what the management API shows.

Issues are serde-style enums too: `"SlotCannotStart"` or `{"ModelCannotBeLoaded": "/path"}`.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import Field, TypeAdapter

from paddler.protocol.strict_model import StrictModel


class AgentStateApplicationStatus(enum.StrEnum):
    FRESH = "Fresh"
    ATTEMPTED_AND_RETRYING = "AttemptedAndRetrying"
    STUCK = "Stuck"
    APPLIED = "Applied"
    ATTEMPTED_AND_NOT_APPLIABLE = "AttemptedAndNotAppliable"


# An issue is a unit variant (a string) or a one-key object.
AgentIssue = str | dict[str, Any]


def issue(variant: str, detail: Any = None) -> AgentIssue:
    return variant if detail is None else {variant: detail}


class AgentStatus(StrictModel):
    """One snapshot of an agent, sent by the agent whenever it changes."""

    slots_processing: int = Field(default=0, ge=0)
    slots_total: int = Field(default=0, ge=0)
    desired_slots_total: int = Field(default=0, ge=0)
    download_current: int = Field(default=0, ge=0)
    download_total: int = Field(default=0, ge=0)
    download_filename: str | None = None
    download_indeterminate: bool = False
    issues: list[AgentIssue] = Field(default_factory=list)
    model_path: str | None = None
    state_application_status: AgentStateApplicationStatus = AgentStateApplicationStatus.FRESH
    uses_chat_template_override: bool = False


AGENT_STATUS = TypeAdapter(AgentStatus)


def agent_snapshot(agent_id: str, name: str | None, status: AgentStatus) -> dict[str, Any]:
    """An entry of `GET /api/v1/agents`."""
    snapshot: dict[str, Any] = {"id": agent_id, "name": name}
    snapshot.update(status.model_dump(mode="json"))
    return snapshot
