"""`/api/v1/agent_socket/{agent_id}`: where agents connect, one WebSocket each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.http.bearer_auth import (
    bearer_token,
    deny_websocket,
    token_matches,
    websocket_close_reason,
)
from paddler.balancer.http.http_body import error_response
from paddler.balancer.http.websocket_origin import refuse_origin
from paddler.balancer.http.websocket_protocol import receive_in_batches, received_messages
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import AgentMethod, BalancerMethod
from paddler.protocol.body_validation import InvalidBody, decode_python

logger = logging.getLogger(__name__)

BALANCER_VERSION = "paddler-python-0.1.0"
REGISTRATION_TIMEOUT_S = 10.0
POLICY_VIOLATION = 1008
AGENT_SOCKET_PREFIX = "/api/v1/agent_socket/"


class AgentSocketEndpoint:
    def __init__(
        self, pool: AgentControllerPool, reconciliation: ReconciliationService, secret: str | None = None
    ) -> None:
        self._pool = pool
        self._reconciliation = reconciliation
        self._secrets = [secret.encode()] if secret else []

    async def serve(self, websocket: WebSocket) -> None:
        agent_id = websocket.path_params["agent_id"]
        origin = websocket.headers.get("origin")
        if origin is not None:
            # Agents send no Origin; a browser always does: a page the operator
            # visits must not register as an agent and receive users' prompts.
            logger.warning("agent socket refused to a browser page from %r", origin)
            await refuse_origin(websocket, "the agent socket does not accept browser connections (Origin)")
            return
        if self._secrets and not token_matches(bearer_token(websocket.headers), self._secrets):
            # Refused at the handshake: an agent without the secret never sees a request.
            reason = "this balancer needs agents to present its agent secret (--agent-secret)"
            logger.warning("agent %s refused: no valid agent secret", agent_id)
            await deny_websocket(websocket, error_response(401, reason), reason)
            return
        await websocket.accept()
        registration = await self._register(websocket, agent_id)
        if registration is None:
            return
        controller, rest_of_first_frame = registration
        replaced = self._pool.register(controller)
        if replaced is not None:
            logger.info("agent %s reconnected; its previous connection is dropped", agent_id)
            replaced.close()
        logger.info("agent %s (%s) connected", agent_id, controller.name)
        controller.send(
            agent_socket.notification(
                BalancerMethod.VERSION,
                {"version": BALANCER_VERSION, "protocol_version": agent_socket.AGENT_SOCKET_PROTOCOL_VERSION},
            )
        )
        self._reconciliation.agent_joined(controller)
        if rest_of_first_frame:
            # The messages batched after register_agent in the first frame.
            controller.handle_frame(orjson.dumps(rest_of_first_frame))
        writer = asyncio.create_task(controller.write_loop(websocket.send_text))
        receive_in_batches(websocket.scope)
        try:
            while not controller.closed:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                for frame in received_messages(message):
                    if frame:
                        controller.handle_frame(frame)
        except WebSocketDisconnect:
            pass  # the agent closed its socket: logged below as any disconnection
        except RuntimeError as error:
            # Starlette's answer to a socket used after it closed under us.
            logger.warning("agent %s: its socket failed: %s", agent_id, error)
        finally:
            # Requests in flight end now (502 or dispatched again), not at a timeout.
            controller.close()
            self._pool.deregister(controller)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await writer
                except Exception:
                    logger.exception("writing to agent %s failed", agent_id)
            try:
                await websocket.close()
            except Exception as error:
                logger.debug("agent %s: closing its socket: %s", agent_id, error)
            logger.info("agent %s disconnected", agent_id)

    async def _register(
        self, websocket: WebSocket, agent_id: str
    ) -> tuple[AgentController, list[Any]] | None:
        """The controller of an agent whose first message is register_agent, alone or first in a batch."""
        try:
            async with asyncio.timeout(REGISTRATION_TIMEOUT_S):
                received = await websocket.receive()
            # Text or binary frames alike: both carry JSON.
            message = orjson.loads(received.get("text") or received.get("bytes") or b"")
        except (TimeoutError, WebSocketDisconnect, RuntimeError, KeyError, orjson.JSONDecodeError):
            with contextlib.suppress(Exception):
                await websocket.close(POLICY_VIOLATION, "expected a register_agent notification")
            return None
        rest: list[Any] = []
        if isinstance(message, list) and message:
            # A batch frame is as valid as a single message (docs/agent-socket.md).
            message, rest = message[0], message[1:]
        if not isinstance(message, dict) or message.get("method") != AgentMethod.REGISTER_AGENT:
            await websocket.close(POLICY_VIOLATION, "the first message must be register_agent")
            return None
        params = decode_python(agent_socket.REGISTER_AGENT_PARAMS, message.get("params"))
        if isinstance(params, InvalidBody):
            await websocket.close(
                POLICY_VIOLATION, websocket_close_reason(f"invalid register_agent: {params.message}")
            )
            return None
        controller = AgentController(
            agent_id, params.name, params.desired_slots_total, params.pool, frozenset(params.capabilities)
        )
        return controller, rest
