"""The management API: agents, buffered requests, desired state, metrics, agent sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from paddler.balancer.dispatch.agent_controller import AgentCallFailed, AgentDisconnected
from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.model_pools import NameTaken, PoolChange
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.state_database_errors import StateDatabaseUnavailable
from paddler.balancer.http.bearer_auth import BearerAuthMiddleware
from paddler.balancer.http.cors import cors_middleware
from paddler.balancer.http.http_body import error_response, read_json
from paddler.balancer.http.http_server import HttpServer, TlsFiles
from paddler.balancer.http.json_response import health, json_response
from paddler.balancer.http.openapi_document import management_openapi, openapi_route
from paddler.balancer.http.server_sent_events import snapshot_stream
from paddler.balancer.management.agent_socket_endpoint import AGENT_SOCKET_PREFIX, AgentSocketEndpoint
from paddler.protocol.agent_socket import BalancerMethod
from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE
from paddler.protocol.body_validation import DEFAULT_MAX_BODY_BYTES
from paddler.protocol.model_pool import MAX_POOLS, MODEL_POOL_SETTINGS, pool_name_problem

logger = logging.getLogger(__name__)

AGENT_CALL_TIMEOUT_S = 10.0
_CONFLICT = "other balancers kept changing the model pools at the same time; send the change again"


class ManagementService:
    def __init__(
        self,
        address: str,
        pool: AgentControllerPool,
        buffered_requests: BufferBudget,
        reconciliation: ReconciliationService,
        metrics: BalancerMetrics,
        cors_allowed_hosts: list[str],
        management_token: str | None = None,
        agent_secret: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        tls: TlsFiles | None = None,
        cluster: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._pool = pool
        # The state database's reachability and the leader (several balancers over etcd).
        self._cluster = cluster or (lambda: {})
        self._buffered_requests = buffered_requests
        self._reconciliation = reconciliation
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes
        # Set with the service's shutdown: SSE streams end when it is.
        self._stopping = asyncio.Event()
        routes = [
            Route("/health", self._health),
            openapi_route(management_openapi()),
            Route("/api/v1/cluster", self._cluster_view),
            Route("/api/v1/agents", self._agents),
            Route("/api/v1/agents/stream", self._agents_stream),
            Route("/api/v1/buffered_requests", self._buffered_requests_snapshot),
            Route("/api/v1/buffered_requests/stream", self._buffered_requests_stream),
            Route("/api/v1/balancer_desired_state", self._get_desired_state, methods=["GET"]),
            Route("/api/v1/balancer_desired_state", self._put_desired_state, methods=["PUT"]),
            Route("/api/v1/balancer_applicable_state", self._applicable_state),
            Route("/api/v1/pools", self._list_pools, methods=["GET"]),
            Route("/api/v1/pools/{name}", self._get_pool, methods=["GET"]),
            Route("/api/v1/pools/{name}", self._put_pool, methods=["PUT"]),
            Route("/api/v1/pools/{name}", self._delete_pool, methods=["DELETE"]),
            Route("/api/v1/agent/{agent_id}/model_metadata", self._model_metadata),
            Route("/api/v1/agent/{agent_id}/chat_template_override", self._chat_template_override),
            Route("/metrics", self._render_metrics),
            WebSocketRoute(
                AGENT_SOCKET_PREFIX + "{agent_id}",
                AgentSocketEndpoint(pool, reconciliation, agent_secret).serve,
            ),
        ]
        middleware = cors_middleware(cors_allowed_hosts)
        middleware.append(
            Middleware(
                BearerAuthMiddleware,
                tokens=[management_token] if management_token else [],
                what="management token",
                deny=error_response,
                # Agents present the agent secret instead, checked by their endpoint.
                skip=lambda path: path.startswith(AGENT_SOCKET_PREFIX),
            )
        )
        self.app = Starlette(routes=routes, middleware=middleware)
        self._server = HttpServer(self.app, address, "management service", tls=tls)

    async def run(self, shutdown: asyncio.Event) -> None:
        self._stopping = shutdown
        await self._server.run(shutdown)

    async def _health(self, request: Request) -> Response:
        """Paddler's plain `OK`; with `?detail`, whether the state database answers and whether
        this balancer leads, as JSON. A balancer that cannot reach etcd still serves (200) and
        says "degraded". /health needs no token: addresses and errors are only in
        /api/v1/cluster, behind the management token."""
        if "detail" not in request.query_params:
            return await health(request)
        cluster = self._cluster()
        database = cluster.get("state_database", {})
        reachable = bool(database.get("reachable", True))
        return json_response(
            {
                "status": "ok" if reachable else "degraded",
                "state_database": {"kind": database.get("kind"), "reachable": reachable},
                "leadership": {"is_leader": bool(cluster.get("leadership", {}).get("is_leader", True))},
            }
        )

    async def _cluster_view(self, _request: Request) -> Response:
        return json_response(self._cluster())

    async def _agents(self, _request: Request) -> Response:
        return json_response(self._pool.snapshot())

    async def _agents_stream(self, _request: Request) -> Response:
        return snapshot_stream(self._pool.changes, self._pool.snapshot, self._stopping)

    def _buffered_snapshot(self) -> dict[str, int]:
        return {"buffered_requests_current": self._buffered_requests.buffered_requests_current}

    async def _buffered_requests_snapshot(self, _request: Request) -> Response:
        return json_response(self._buffered_snapshot())

    async def _buffered_requests_stream(self, _request: Request) -> Response:
        return snapshot_stream(self._buffered_requests.changes, self._buffered_snapshot, self._stopping)

    async def _get_desired_state(self, _request: Request) -> Response:
        return json_response(self._reconciliation.desired_state.model_dump(mode="json"))

    async def _put_desired_state(self, request: Request) -> Response:
        state = await read_json(request, BALANCER_DESIRED_STATE, self._max_body_bytes)
        if isinstance(state, Response):
            return state
        try:
            change = await self._reconciliation.set_desired_state(state)
        except StateDatabaseUnavailable as error:
            return error_response(503, str(error))
        except OSError as error:
            logger.error("cannot store the desired state: %s", error)
            return error_response(500, f"cannot store the desired state: {error}")
        if change is PoolChange.CONFLICT:
            return error_response(409, _CONFLICT)
        return Response(status_code=204)

    async def _list_pools(self, _request: Request) -> Response:
        return json_response(self._reconciliation.pools.snapshot())

    async def _get_pool(self, request: Request) -> Response:
        pools = self._reconciliation.pools
        pool = pools.pools.get(request.path_params["name"])
        if pool is None or pool.deleting:
            return error_response(404, f"no model pool named {request.path_params['name'][:140]!r}")
        return json_response(pools.view(pool))

    async def _put_pool(self, request: Request) -> Response:
        name = request.path_params["name"]
        problem = pool_name_problem(name)
        if problem is not None:
            return error_response(400, problem)
        settings = await read_json(request, MODEL_POOL_SETTINGS, self._max_body_bytes)
        if isinstance(settings, Response):
            return settings
        pools = self._reconciliation.pools
        try:
            change = await pools.put(name, settings)
        except StateDatabaseUnavailable as error:
            return error_response(503, str(error))
        except OSError as error:
            logger.error("cannot store the model pools: %s", error)
            return error_response(500, f"cannot store the model pools: {error}")
        if isinstance(change, NameTaken):
            return error_response(
                409, f"the name {change.name!r} already selects the model pool {change.pool!r}"
            )
        if change is PoolChange.CONFLICT:
            return error_response(409, _CONFLICT)
        if change is PoolChange.TOO_MANY_POOLS:
            return error_response(409, f"a cluster holds at most {MAX_POOLS} model pools; delete one first")
        status = 201 if change is PoolChange.CREATED else 200
        return json_response(pools.view(pools.pools[name]), status_code=status)

    async def _delete_pool(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            change = await self._reconciliation.pools.delete(name)
        except StateDatabaseUnavailable as error:
            return error_response(503, str(error))
        except OSError as error:
            logger.error("cannot store the model pools: %s", error)
            return error_response(500, f"cannot store the model pools: {error}")
        if change is PoolChange.CONFLICT:
            return error_response(409, _CONFLICT)
        if change is PoolChange.NOT_FOUND:
            return error_response(404, f"no model pool named {name[:140]!r}")
        if change is PoolChange.DEFAULT_CANNOT_BE_DELETED:
            return error_response(
                409,
                "the default pool cannot be deleted (Paddler's desired-state endpoints act on it); "
                'set its model to "None" instead',
            )
        return Response(status_code=204)

    async def _applicable_state(self, _request: Request) -> Response:
        return json_response(self._reconciliation.applicable_state)

    async def _model_metadata(self, request: Request) -> Response:
        return await self._ask_agent(request, BalancerMethod.GET_MODEL_METADATA)

    async def _chat_template_override(self, request: Request) -> Response:
        return await self._ask_agent(request, BalancerMethod.GET_CHAT_TEMPLATE_OVERRIDE)

    async def _ask_agent(self, request: Request, method: BalancerMethod) -> Response:
        agent_id = request.path_params["agent_id"]
        controller = self._pool.get(agent_id)
        if controller is None:
            return error_response(404, f"no agent with id {agent_id!r} is connected")
        try:
            answer = await controller.call(method, {}, AGENT_CALL_TIMEOUT_S)
        except TimeoutError:
            return error_response(504, f"agent {agent_id!r} did not answer within {AGENT_CALL_TIMEOUT_S:g} s")
        except AgentDisconnected:
            return error_response(502, f"agent {agent_id!r} disconnected before answering")
        except AgentCallFailed as error:
            return error_response(502, f"agent {agent_id!r} failed: {error.message}")
        return json_response(answer)

    async def _render_metrics(self, _request: Request) -> Response:
        return Response(self._metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
