"""The agent socket: JSON-RPC 2.0 between the balancer and its agents.

Documented in docs/agent-socket.md. Messages are plain dicts (they carry
every generated token); parameters that the balancer must trust are
validated with the models here.
"""

from __future__ import annotations

import enum
from typing import Any, Final, Literal

from pydantic import Field, TypeAdapter

from paddler.protocol.agent_status import AgentStatus
from paddler.protocol.model_pool import POOL_NAME
from paddler.protocol.strict_model import StrictModel

JSONRPC: Final = "2.0"
AGENT_SOCKET_PROTOCOL_VERSION: Final = "1"

# Members of agent messages that are ours alone (docs/agent-socket.md): the
# balancer removes them before a client sees the message. Next to a
# generation's final result: true when the generation filled its slot's context.
CONTEXT_EXHAUSTED: Final = "context_exhausted"
# In an `embedding` notification's embedding: how many tokens the document took.
TOKEN_COUNT: Final = "token_count"


class AgentMethod(enum.StrEnum):
    # agent -> balancer notifications
    REGISTER_AGENT = "register_agent"
    UPDATE_AGENT_STATUS = "update_agent_status"
    DEREGISTER_AGENT = "deregister_agent"
    GENERATED_TOKEN = "generated_token"
    EMBEDDING = "embedding"


class BalancerMethod(enum.StrEnum):
    # balancer -> agent notifications
    VERSION = "version"
    SET_STATE = "set_state"
    STOP_RESPONDING_TO = "stop_responding_to"
    # balancer -> agent requests
    CONTINUE_FROM_CONVERSATION_HISTORY = "continue_from_conversation_history"
    CONTINUE_FROM_RAW_PROMPT = "continue_from_raw_prompt"
    GENERATE_EMBEDDING_BATCH = "generate_embedding_batch"
    GET_MODEL_METADATA = "get_model_metadata"
    GET_CHAT_TEMPLATE_OVERRIDE = "get_chat_template_override"


class RpcErrorCode(enum.IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    # Server-defined range: the agent cannot take the request now.
    NO_MODEL_LOADED = -32000
    SHUTTING_DOWN = -32001
    NOT_SUPPORTED = -32002
    DUPLICATE_REQUEST_ID = -32003
    # Every slot is taken (by another balancer's requests): refused before any token, the
    # balancer tries another agent or buffers it; not a failure of the agent.
    SLOTS_FULL = -32004


# The capability of agents that echo set_state's `state_id` (RegisterAgentParams.capabilities).
STATE_IDS: Final = "state_ids"
# The capability of agents that arbitrate their slots among several balancers: once the balancer
# is known to be ours, every status carries `slots_held_elsewhere` (0 included), and the balancer
# offers none of the agent's slots before such a status came.
SLOT_ARBITRATION: Final = "slot_arbitration"


class RegisterAgentParams(StrictModel):
    name: str | None = None
    desired_slots_total: int = Field(ge=0)
    # The model pool the agent always serves (`--pool`); absent: the balancer places it.
    pool: str | None = Field(default=None, pattern=f"^(?:{POOL_NAME.pattern})$")
    # What the agent understands beyond Paddler's protocol: "state_ids" (a `state_id` in
    # set_state, echoed as `applied_state_id` in its statuses: the balancer may move it
    # between model pools, knowing when it serves the new one).
    capabilities: list[str] = Field(default_factory=list, max_length=16)
    protocol_version: str = AGENT_SOCKET_PROTOCOL_VERSION


class UpdateAgentStatusParams(StrictModel):
    # Monotonic per connection; a snapshot older than the last one is dropped.
    version: int
    status: AgentStatus
    # The `state_id` of the last set_state the agent finished applying (capability "state_ids").
    applied_state_id: int | None = None
    # Ours, sent to our balancers only: the slots this agent's other balancers hold (an agent
    # connected to several), and the model pool of the state it applied (its set_state's `pool`).
    slots_held_elsewhere: int | None = Field(default=None, ge=0)
    # How many balancers the agent serves now (its connections): each one's fair share of the
    # slots is slots_total / balancers, rounded up.
    balancers: int | None = Field(default=None, ge=1, le=64)
    pool: str | None = Field(default=None, pattern=f"^(?:{POOL_NAME.pattern})$")


class SamplingOverrides(StrictModel):
    """Per-request sampling that replaces the desired state's, for the OpenAI API.

    Internal: it rides along a generating request's params as `sampling`.
    """

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    seed: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    stop: list[str] = Field(default_factory=list)
    ignore_eos: bool = False
    # "required": the answer must call one of the offered tools.
    tool_choice: Literal["auto", "required", "none"] = "auto"


REGISTER_AGENT_PARAMS = TypeAdapter(RegisterAgentParams)
SAMPLING_OVERRIDES = TypeAdapter(SamplingOverrides)
UPDATE_AGENT_STATUS_PARAMS = TypeAdapter(UpdateAgentStatusParams)


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "method": method, "params": params}


def request(request_id: str, method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": request_id, "method": method, "params": params}


def result(request_id: str | int | None, value: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": request_id, "result": value}


def error(request_id: str | int | None, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": request_id, "error": {"code": code, "message": message}}
