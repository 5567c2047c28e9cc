"""How one dispatch of a request to an agent ended, and what the request does next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.mailbox import (
    AgentFailed,
    AgentFinished,
    AgentGone,
    BalancerStopping,
    MailboxItem,
)
from paddler.balancer.dispatch.relay_event import RelayFailed, RelayFailure, RelayFinished, relay_failed
from paddler.protocol.agent_socket import CONTEXT_EXHAUSTED, RpcErrorCode
from paddler.protocol.inference_response import BalancerErrorCode

# Only INVALID_PARAMS is the client's fault (a prompt too long, a schema the
# agent refuses). NOT_SUPPORTED is this agent's configuration (embeddings off
# while the desired state has them on: being reloaded), as the balancer's own
# refusal says 501. The rest, and any code not listed, are 500: the agent's
# failure or a bug between balancer and agent.
_AGENT_ERROR_CODES: dict[int, int] = {
    RpcErrorCode.INVALID_PARAMS: BalancerErrorCode.BAD_REQUEST,
    RpcErrorCode.NOT_SUPPORTED: BalancerErrorCode.NOT_IMPLEMENTED,
    RpcErrorCode.NO_MODEL_LOADED: BalancerErrorCode.UNAVAILABLE,
    RpcErrorCode.SHUTTING_DOWN: BalancerErrorCode.UNAVAILABLE,
}


class DispatchAgain:
    """The agent could not take the request after all (being reconfigured): claim a slot again."""


@dataclass(frozen=True, slots=True)
class RetryElsewhere:
    """The agent failed the request before its first token; `failure` is what the client
    gets if the request was retried already."""

    failure: RelayFailed


@dataclass(frozen=True, slots=True)
class AgentLost:
    """The agent's connection closed while it held the request."""

    after_first_token: bool


class SlotRefused:
    """The agent's slots were all held (by its other balancers' requests): claim a slot again,
    on another agent or this one once its status shows one free. Not a failure of the agent."""


DISPATCH_AGAIN = DispatchAgain()
SLOT_REFUSED = SlotRefused()

DispatchOutcome = RelayFinished | RelayFailed | DispatchAgain | SlotRefused | RetryElsewhere | AgentLost


def dispatch_outcome(controller: AgentController, final: MailboxItem, relayed_any: bool) -> DispatchOutcome:
    """What the request's last message from its agent means for the client."""
    if isinstance(final, AgentFinished):
        controller.record_outcome(succeeded=True)
        return _finished(controller.name, final.response)
    if isinstance(final, BalancerStopping):
        return relay_failed(RelayFailure.SHUTTING_DOWN, "the balancer is shutting down")
    if isinstance(final, AgentGone):
        return AgentLost(after_first_token=relayed_any)
    assert isinstance(final, AgentFailed)
    if final.code == RpcErrorCode.SLOTS_FULL and not relayed_any:
        controller.mark_full()
        return SLOT_REFUSED
    if final.code == RpcErrorCode.NO_MODEL_LOADED and not relayed_any:
        # The agent is being reconfigured; another one (or this one, once its
        # status shows slots again) takes the request.
        controller.mark_unavailable()
        return DISPATCH_AGAIN
    # The client's own mistakes (4xx) say nothing about the agent's health.
    code = _AGENT_ERROR_CODES.get(final.code, BalancerErrorCode.INTERNAL)
    controller.record_outcome(succeeded=code < BalancerErrorCode.INTERNAL)
    failure = relay_failed(RelayFailure.AGENT_ERROR, final.message, code)
    if code >= BalancerErrorCode.INTERNAL and not relayed_any:
        # The agent's fault, and the client has seen nothing yet: another agent may serve it.
        return RetryElsewhere(failure)
    return failure


def _finished(generated_by: str | None, response: Any) -> RelayFinished:
    """The agent's last response, without the members that are ours alone (docs/agent-socket.md)."""
    result = response.get("GeneratedToken") if isinstance(response, dict) else None
    if isinstance(result, dict) and CONTEXT_EXHAUSTED in result:
        return RelayFinished(generated_by, response, context_exhausted=result.pop(CONTEXT_EXHAUSTED) is True)
    return RelayFinished(generated_by, response)
