"""Agents without processes for the relay's unit tests: controllers fed JSON-RPC
frames by hand, as their sockets would."""

from __future__ import annotations

from typing import Any

import orjson

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferedRequestManager
from paddler.balancer.dispatch.relay_event import Relayed, RelayEnd, RelayEvent
from paddler.balancer.dispatch.request_relay import RequestRelay

PROMPT = b'{"raw_prompt":"Hi","max_tokens":2}'


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[RelayEvent] = []

    def relayed(self, event: Relayed) -> None:
        self.events.append(event)

    def ended(self, event: RelayEnd) -> None:
        self.events.append(event)


def cluster_of_agents(
    count: int, slots: int = 1, item_timeout_s: float = 30.0, max_buffered_requests: int = 4
) -> tuple[RequestRelay, list[AgentController], BufferedRequestManager]:
    pool = AgentControllerPool()
    buffered = BufferedRequestManager(pool, max_buffered_requests=max_buffered_requests, timeout_s=5)
    controllers = []
    for number in range(count):
        controller = AgentController(f"id-{number}", f"agent-{number}", slots)
        pool.register(controller)
        status = {"version": 1, "status": {"slots_total": slots, "desired_slots_total": slots}}
        controller.handle_frame(
            orjson.dumps({"jsonrpc": "2.0", "method": "update_agent_status", "params": status})
        )
        controllers.append(controller)
    return (
        RequestRelay(buffered, BalancerMetrics(pool, buffered._budget), item_timeout_s),
        controllers,
        buffered,
    )


def sent_to_agent(controller: AgentController) -> list[dict[str, Any]]:
    return list(controller._outgoing)


def requests_sent(controller: AgentController) -> list[dict[str, Any]]:
    return [
        message
        for message in sent_to_agent(controller)
        if message.get("method") == "continue_from_raw_prompt"
    ]


def last_request_id(controller: AgentController) -> str:
    request_id: str = requests_sent(controller)[-1]["id"]
    return request_id


def holding_a_request(controllers: list[AgentController]) -> AgentController:
    return next(controller for controller in controllers if controller.slots_claimed)


def answer(controller: AgentController, *messages: dict[str, Any]) -> None:
    controller.handle_frame(orjson.dumps([{"jsonrpc": "2.0", **message} for message in messages]))


def token(request_id: str, text: str) -> dict[str, Any]:
    return {
        "method": "generated_token",
        "params": {"request_id": request_id, "token": {"ContentToken": text}},
    }


def done(request_id: str) -> dict[str, Any]:
    return {"id": request_id, "result": {"Done": {}}}


def error(request_id: str, code: int, message: str) -> dict[str, Any]:
    return {"id": request_id, "error": {"code": code, "message": message}}
