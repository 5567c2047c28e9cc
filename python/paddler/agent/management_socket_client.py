"""The agent's connection to the balancer: dial, register, report, serve, and
dial again with exponential backoff and jitter whenever the link drops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from http import HTTPStatus
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.json_rpc_outbox import JsonRpcOutbox
from paddler.agent.reconciler import Reconciler
from paddler.agent.request_handler import Channel, RequestHandler
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import AgentMethod, BalancerMethod
from paddler.protocol.balancer_desired_state import AGENT_DESIRED_STATE, AgentDesiredState
from paddler.protocol.body_validation import InvalidBody, decode_python
from paddler.protocol.model_pool import POOL_NAME

logger = logging.getLogger(__name__)

RECONNECT_INITIAL_S = 0.1
# Low: an agent serving several balancers is back on a restarted one within seconds.
RECONNECT_MAX_S = 2.0
STATUS_INTERVAL_S = 1.0
# Bursts of changes (a download's progress) are sent at most this often.
STATUS_MIN_GAP_S = 0.05
# On SIGTERM, requests in flight get this long to finish before the agent leaves.
DRAIN_TIMEOUT_S = 30.0

_REQUEST_METHODS = frozenset(
    {
        BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY,
        BalancerMethod.CONTINUE_FROM_RAW_PROMPT,
        BalancerMethod.GENERATE_EMBEDDING_BATCH,
        BalancerMethod.GET_MODEL_METADATA,
        BalancerMethod.GET_CHAT_TEMPLATE_OVERRIDE,
    }
)


# The schemes a --management-addr may have, and the WebSocket scheme each means.
_WEBSOCKET_SCHEMES = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}


def management_socket_base(management_addr: str) -> str:
    """`HOST:PORT` (plain ws), or a `ws://`, `wss://`, `http://` or `https://` address, as the
    base URL of the balancer's sockets; raises ValueError for any other scheme."""
    scheme, separator, rest = management_addr.partition("://")
    if not separator:
        scheme, rest = "ws", management_addr
    websocket_scheme = _WEBSOCKET_SCHEMES.get(scheme.lower())
    if websocket_scheme is None:
        raise ValueError(f"{management_addr!r}: the scheme must be ws, wss, http or https")
    return f"{websocket_scheme}://{rest.rstrip('/')}"


def management_host_port(management_addr: str) -> str:
    """The `HOST:PORT` of a --management-addr, scheme or not."""
    return management_socket_base(management_addr).partition("://")[2]


def balancer_tls_context(tls_ca: str | None) -> ssl.SSLContext:
    """What a wss:// connection verifies the balancer's certificate with: the system's CAs, or
    only `tls_ca` (a PEM file, for a private CA). Raises OSError when the file cannot be used."""
    return ssl.create_default_context(cafile=tls_ca)


class ManagementSocketClient:
    def __init__(
        self,
        management_addr: str,
        agent_id: str,
        name: str | None,
        board: AgentStatusBoard,
        reconciler: Reconciler,
        handler: RequestHandler,
        secret: str | None = None,
        tls_ca: str | None = None,
        pool: str | None = None,
    ) -> None:
        self._url = f"{management_socket_base(management_addr)}/api/v1/agent_socket/{agent_id}"
        # Over wss the secret and every prompt are encrypted, and the balancer's certificate is checked.
        self._tls = balancer_tls_context(tls_ca) if self._url.startswith("wss://") else None
        self._headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._name = name
        self._pool = pool
        self._board = board
        self._reconciler = reconciler
        self._handler = handler
        # Survives reconnections, so the balancer never sees a version go back.
        self._status_version = 0
        # The last set_state of this balancer: its id is echoed once the reconciler has
        # applied that state (another balancer's set_state may be what it applies).
        self._received_state: AgentDesiredState | None = None
        self._received_state_id: int | None = None
        # The balancer is ours (its version message has a protocol_version): it reads the
        # status members beyond Paddler's.
        self._balancer_is_ours = False
        self._channel: Channel | None = None
        self.connected = asyncio.Event()

    async def run(self, shutdown: asyncio.Event) -> None:
        failures = 0
        while not shutdown.is_set():
            try:
                # No compression: per-token frames are small, the CPU is better
                # spent on the engine.
                async with connect(
                    self._url,
                    additional_headers=self._headers,
                    max_size=1 << 26,
                    ping_interval=5.0,
                    ping_timeout=10.0,
                    open_timeout=5.0,
                    compression=None,
                    ssl=self._tls,
                ) as connection:
                    failures = 0
                    logger.info("connected to %s", self._url)
                    await self._serve(connection, shutdown)
            except InvalidStatus as error:
                # Kept trying: the balancer may be restarted with the secret this agent has.
                if error.response.status_code == HTTPStatus.UNAUTHORIZED:
                    logger.error("the balancer refused this agent: --agent-secret is missing or wrong")
                else:
                    logger.warning("the balancer refused the connection: %s", error)
            except ssl.SSLCertVerificationError as error:
                # Kept trying: the balancer may come back with a certificate this agent trusts.
                logger.error(
                    "the balancer's TLS certificate is not trusted (%s): pass --tls-ca with the "
                    "certificate of the CA that signed it",
                    error.verify_message,
                )
            except InvalidMessage as error:
                hint = "" if self._tls else "; if the balancer serves TLS, dial it with wss://"
                logger.warning("the balancer's answer is not a WebSocket handshake (%s)%s", error, hint)
            except (OSError, websockets.WebSocketException, TimeoutError) as error:
                logger.info("no connection to the balancer (%s)", error or type(error).__name__)
            except Exception:  # never die of the link: log it and dial again
                logger.exception("the connection to the balancer failed")
            finally:
                self.connected.clear()
                if self._channel is not None:
                    self._handler.detach(self._channel)
                    self._channel = None
            if shutdown.is_set():
                return
            delay = min(RECONNECT_INITIAL_S * 2**failures, RECONNECT_MAX_S) * random.uniform(0.5, 1.5)
            failures += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await shutdown.wait()

    async def _serve(self, connection: ClientConnection, shutdown: asyncio.Event) -> None:
        outbox = JsonRpcOutbox()
        registration: dict[str, object] = {
            "name": self._name,
            "desired_slots_total": self._board.desired_slots_total,
            "capabilities": [agent_socket.STATE_IDS, agent_socket.SLOT_ARBITRATION],
        }
        if self._pool is not None:
            # Only when set: Paddler's own balancer knows no pools.
            registration["pool"] = self._pool
        outbox.send(agent_socket.notification(AgentMethod.REGISTER_AGENT, registration))
        self._balancer_is_ours = False
        self._received_state = self._received_state_id = None
        channel = self._channel = self._handler.attach(outbox.send, outbox.flushed)
        self.connected.set()
        tasks = [
            asyncio.create_task(outbox.write_loop(connection.send)),
            asyncio.create_task(self._report_status(outbox, channel)),
            asyncio.create_task(self._read_loop(connection)),
            asyncio.create_task(shutdown.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if shutdown.is_set():
                # Drain: no new work (zero slots reported), the running requests finish.
                self._reconciler.stop_accepting()
                await self._handler.drain(DRAIN_TIMEOUT_S)
                try:
                    await connection.send(
                        orjson.dumps(agent_socket.notification(AgentMethod.DEREGISTER_AGENT, {})).decode()
                    )
                except (OSError, websockets.WebSocketException) as error:
                    # The balancer drops this agent when the socket closes anyway.
                    logger.info("could not tell the balancer that this agent leaves: %s", error)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _report_status(self, outbox: JsonRpcOutbox, channel: Channel) -> None:
        # This connection's own copies of the board's signals: another connection
        # clearing its copy after a send never hides a change from this one.
        changed, urgent = self._board.changed.subscribe(), self._board.urgent.subscribe()
        held_told = 0
        while True:
            if self._balancer_is_ours and self._reconciler.held_elsewhere(channel) < held_told:
                # A slot another balancer's request freed: that balancer fills it first.
                grace = self._reconciler.refill_grace_s(channel, self._board.changed.subscribers)
                if grace > 0:
                    await asyncio.sleep(grace)
            changed.clear()
            urgent.clear()
            self._status_version += 1
            status = self._board.snapshot(self._reconciler.slots_processing).model_dump(mode="json")
            params: dict[str, Any] = {"version": self._status_version, "status": status}
            if self._received_state_id is not None and self._reconciler.applied == self._received_state:
                params["applied_state_id"] = self._received_state_id
            if self._balancer_is_ours:
                held_told = self._reconciler.held_elsewhere(channel)
                params["slots_held_elsewhere"] = held_told
                params["balancers"] = max(1, self._board.changed.subscribers)
                if self._reconciler.applied_pool is not None:
                    params["pool"] = self._reconciler.applied_pool
            outbox.send(agent_socket.notification(AgentMethod.UPDATE_AGENT_STATUS, params))
            # Bursts (a download's progress) are sampled every STATUS_MIN_GAP_S;
            # a new application status, or slots taken while several balancers
            # share them, go out at once.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_MIN_GAP_S):
                    await urgent.wait()
            if urgent.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_INTERVAL_S):
                    await changed.wait()

    async def _read_loop(self, connection: ClientConnection) -> None:
        async for frame in connection:
            try:
                decoded = orjson.loads(frame)
            except orjson.JSONDecodeError:
                logger.warning("the balancer sent a frame that is not JSON")
                continue
            for message in decoded if isinstance(decoded, list) else [decoded]:
                if not isinstance(message, dict):
                    continue
                try:
                    self._handle(message)
                except (AttributeError, KeyError, TypeError, ValueError) as error:
                    logger.warning("a malformed message from the balancer: %s", error)

    def _handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        channel = self._channel
        if channel is None:
            return
        if method in _REQUEST_METHODS and "id" in message:
            self._handler.handle_request(message, channel)
        elif method == BalancerMethod.STOP_RESPONDING_TO:
            self._handler.stop_responding_to(str(params.get("request_id")), channel)
        elif method == BalancerMethod.SET_STATE:
            state = decode_python(AGENT_DESIRED_STATE, params.get("desired_state"))
            if isinstance(state, InvalidBody):
                logger.error("the balancer sent an invalid desired state: %s", state.message)
                return
            state_id = params.get("state_id")
            pool = params.get("pool")
            self._received_state = state
            self._received_state_id = state_id if isinstance(state_id, int) else None
            valid_pool = pool if isinstance(pool, str) and POOL_NAME.fullmatch(pool) else None
            self._reconciler.set_desired_state(state, valid_pool)
        elif method == BalancerMethod.VERSION:
            self._balancer_is_ours = "protocol_version" in params
            logger.info("balancer %s: version %s", self._url, params.get("version"))
        else:
            logger.warning("unknown message from the balancer: %r", method)
