"""The OpenAPI 3.1 documents of the three services, served at `/openapi.json` on each.

Request bodies are generated from the same pydantic protocol types that
validate them, so the documents cannot drift from what the server accepts;
paths and answers are written here. WebSockets have no place in OpenAPI: the
two sockets are described in prose, their frames' schemas are components.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paddler.protocol.agent_status import AGENT_STATUS
from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE
from paddler.protocol.embedding_request import GENERATE_EMBEDDING_BATCH
from paddler.protocol.inference_request import CONTINUE_FROM_CONVERSATION_HISTORY, CONTINUE_FROM_RAW_PROMPT
from paddler.protocol.inference_socket_message import INFERENCE_SOCKET_CLIENT_MESSAGE
from paddler.protocol.model_pool import MODEL_POOL_SETTINGS, POOL_NAME
from paddler.protocol.openai_request import (
    CHAT_COMPLETION_REQUEST,
    COMPLETION_REQUEST,
    EMBEDDING_REQUEST,
    RESPONSES_REQUEST,
)

VERSION = "0.1.0"
_REF = "#/components/schemas/{model}"

_PADDLER_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        }
    },
}
_OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "integer", "null"]},
            },
        }
    },
}
_BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
_HEALTH = {
    "get": {
        "summary": "Liveness; never needs credentials",
        "security": [],
        "responses": {
            "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
        },
    }
}
_OPENAPI_JSON = {
    "get": {
        "summary": "This document",
        "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
    }
}


def _components(adapters: dict[str, TypeAdapter[Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """({name: schema or $ref}, component schemas) of protocol types, sharing their definitions."""
    keyed, definitions = TypeAdapter.json_schemas(
        [(name, "validation", adapter) for name, adapter in adapters.items()], ref_template=_REF
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    refs: dict[str, Any] = {}
    for (name, _), schema in keyed.items():
        if "$ref" in schema:
            refs[name] = schema
        else:  # a union or an alias: named here so that operations can point at it
            schemas[name] = schema
            refs[name] = {"$ref": _REF.format(model=name)}
    return refs, schemas


def _error_responses(error_schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    reasons = {
        400: "The body is invalid; the message names the field, or the limit it exceeds",
        401: "No valid bearer token",
        404: "Not found",
        409: "It conflicts with what exists (a name taken, the default pool), or other balancers kept "
        "changing the pools at the same moment",
        429: "Over a limit on requests in flight; retry later",
        413: "The body is larger than --max-body-bytes",
        502: "The agent failed or disconnected",
        503: "The state database (etcd) cannot be reached: nothing changed; the message names it",
        504: "The agent did not answer in time",
    }
    return {
        str(code): {"description": reasons[code], "content": {"application/json": {"schema": error_schema}}}
        for code in codes
    }


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _document(title: str, description: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": VERSION, "description": description},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _BEARER},
        # Applies when the balancer is started with credentials; without them nothing is checked.
        "security": [{"bearerAuth": []}],
    }


_NDJSON_STREAM = {
    "description": "An NDJSON stream: `Response` envelopes, then a terminal one (Done or an error "
    'variant); balancer-side failures as `{"Error": {request_id, error: {code, description}}}` lines',
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
}


def inference_openapi() -> dict[str, Any]:
    refs, schemas = _components(
        {
            "ContinueFromConversationHistoryParams": CONTINUE_FROM_CONVERSATION_HISTORY,
            "ContinueFromRawPromptParams": CONTINUE_FROM_RAW_PROMPT,
            "GenerateEmbeddingBatchParams": GENERATE_EMBEDDING_BATCH,
            "InferenceSocketClientMessage": INFERENCE_SOCKET_CLIENT_MESSAGE,
        }
    )
    schemas["Error"] = _PADDLER_ERROR
    error = {"$ref": _REF.format(model="Error")}

    def generation(summary: str, body: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": _json_body(refs[body]),
                "responses": {"200": _NDJSON_STREAM, **_error_responses(error, 400, 401, 413)},
            }
        }

    paths = {
        "/health": _HEALTH,
        "/openapi.json": _OPENAPI_JSON,
        "/api/v1/continue_from_conversation_history": generation(
            "Generate the next turn of a conversation", "ContinueFromConversationHistoryParams"
        ),
        "/api/v1/continue_from_raw_prompt": generation(
            "Continue a raw prompt (special tokens are parsed)", "ContinueFromRawPromptParams"
        ),
        "/api/v1/generate_embedding_batch": generation(
            "One embedding per document; the batch is split across agents", "GenerateEmbeddingBatchParams"
        ),
    }
    description = (
        "Paddler's inference API. `GET /api/v1/inference_socket` is a WebSocket multiplexed by request "
        "id: clients send `InferenceSocketClientMessage` frames and get the envelopes of the NDJSON "
        "streams. With --inference-api-key, the handshake needs `Authorization: Bearer <key>` or, for "
        "browsers (which cannot set that header on a WebSocket), `?token=<key>`."
    )
    return _document("paddler inference API", description, paths, schemas)


_MANAGEMENT_HEALTH = {
    "get": {
        "summary": "`OK` while the balancer serves; with `?detail`, the cluster's state as JSON",
        "parameters": [
            {
                "name": "detail",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Present: `{status: ok | degraded, state_database: {kind, reachable}, "
                "leadership: {is_leader}}`; degraded while etcd cannot be reached (the balancer still "
                "serves). Addresses and errors: /api/v1/cluster",
            }
        ],
        "responses": {"200": {"description": "OK", "content": {"text/plain": {}, "application/json": {}}}},
    }
}


def management_openapi() -> dict[str, Any]:
    refs, schemas = _components(
        {
            "BalancerDesiredState": BALANCER_DESIRED_STATE,
            "AgentStatus": AGENT_STATUS,
            "ModelPoolSettings": MODEL_POOL_SETTINGS,
        }
    )
    schemas["Error"] = _PADDLER_ERROR
    error = {"$ref": _REF.format(model="Error")}
    agent = {
        "allOf": [
            refs["AgentStatus"],
            {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": ["string", "null"]},
                    # Only while the agent's circuit breaker is not closed.
                    "circuit_breaker": {"enum": ["Open", "HalfOpen"]},
                },
            },
        ]
    }
    schemas["AgentsSnapshot"] = {
        "type": "object",
        "required": ["agents"],
        "properties": {"agents": {"type": "array", "items": agent}},
    }
    schemas["BufferedRequestsSnapshot"] = {
        "type": "object",
        "required": ["buffered_requests_current"],
        "properties": {"buffered_requests_current": {"type": "integer", "minimum": 0}},
    }
    schemas["ModelPool"] = {
        "allOf": [
            refs["ModelPoolSettings"],
            {
                "type": "object",
                "required": [
                    "name",
                    "agents",
                    "requests_in_flight",
                    "buffered_requests",
                    "deleting",
                    "placements",
                ],
                "properties": {
                    "name": {"type": "string", "pattern": f"^(?:{POOL_NAME.pattern})$"},
                    "agents": {"type": "array", "items": {"type": "string"}, "description": "agent ids"},
                    "requests_in_flight": {"type": "integer", "minimum": 0},
                    "buffered_requests": {"type": "integer", "minimum": 0},
                    "deleting": {"type": "boolean", "description": "deleted, draining its requests"},
                    "placements": {
                        "type": "array",
                        "description": "the latest agents placed in it (at most 20), oldest first",
                        "items": {
                            "type": "object",
                            "properties": {
                                "at": {"type": "number", "description": "Unix time, seconds"},
                                "agent_id": {"type": "string"},
                                "agent_name": {"type": ["string", "null"]},
                                "from": {"type": ["string", "null"]},
                                "to": {"type": "string"},
                                "reason": {"enum": ["min_agents", "waiting_requests", "pool_deleted"]},
                            },
                        },
                    },
                },
            },
        ]
    }
    schemas["ModelPools"] = {
        "type": "object",
        "required": ["pools"],
        "properties": {"pools": {"type": "array", "items": {"$ref": _REF.format(model="ModelPool")}}},
    }
    unauthorized = _error_responses(error, 401)

    def snapshot(summary: str, schema: str) -> dict[str, Any]:
        content = {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}}
        return {
            "get": {
                "summary": summary,
                "responses": {"200": {"description": "OK", "content": content}, **unauthorized},
            }
        }

    def stream(summary: str) -> dict[str, Any]:
        content = {"text/event-stream": {"schema": {"type": "string"}}}
        return {
            "get": {
                "summary": summary + ": `data: <snapshot>` on every change, keep-alive comments",
                "responses": {"200": {"description": "SSE", "content": content}, **unauthorized},
            }
        }

    agent_id = {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}

    def ask_agent(summary: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "parameters": [agent_id],
                "responses": {
                    "200": {"description": "The agent's answer", "content": {"application/json": {}}},
                    **_error_responses(error, 401, 404, 502, 504),
                },
            }
        }

    desired_state = {"application/json": {"schema": refs["BalancerDesiredState"]}}
    pool_view = {"application/json": {"schema": {"$ref": _REF.format(model="ModelPool")}}}
    paths = {
        "/health": _MANAGEMENT_HEALTH,
        "/openapi.json": _OPENAPI_JSON,
        "/api/v1/cluster": {
            "get": {
                "summary": "This balancer, its state database (reachable or not) and the cluster's leader",
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {}}},
                    **unauthorized,
                },
            }
        },
        "/api/v1/agents": snapshot("Connected agents", "AgentsSnapshot"),
        "/api/v1/agents/stream": stream("Connected agents"),
        "/api/v1/buffered_requests": snapshot("Requests waiting for a slot", "BufferedRequestsSnapshot"),
        "/api/v1/buffered_requests/stream": stream("Requests waiting for a slot"),
        "/api/v1/balancer_desired_state": {
            "get": {
                "summary": "The desired state of the cluster",
                "responses": {"200": {"description": "OK", "content": desired_state}, **unauthorized},
            },
            "put": {
                "summary": "Set the desired state; agents reconcile to it",
                "requestBody": _json_body(refs["BalancerDesiredState"]),
                "responses": {
                    "204": {"description": "Stored and being applied"},
                    **_error_responses(error, 400, 401, 409, 413, 503),
                },
            },
        },
        "/api/v1/balancer_applicable_state": {
            "get": {
                "summary": "What was pushed to agents, or null",
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {}}},
                    **unauthorized,
                },
            }
        },
        "/api/v1/pools": snapshot("Every model pool, with its agents and requests", "ModelPools"),
        "/api/v1/pools/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "summary": "One model pool",
                "responses": {
                    "200": {"description": "OK", "content": pool_view},
                    **_error_responses(error, 401, 404),
                },
            },
            "put": {
                "summary": "Create or change a model pool; its agents reconcile to its desired state",
                "requestBody": _json_body(refs["ModelPoolSettings"]),
                "responses": {
                    "200": {"description": "Changed", "content": pool_view},
                    "201": {"description": "Created", "content": pool_view},
                    **_error_responses(error, 400, 401, 409, 413, 503),
                },
            },
            "delete": {
                "summary": "Delete a model pool: no new requests; those in flight finish, then it goes",
                "responses": {
                    "204": {"description": "Deleted (draining)"},
                    **_error_responses(error, 401, 404, 409, 503),
                },
            },
        },
        "/api/v1/agent/{agent_id}/model_metadata": ask_agent("The GGUF metadata of the agent's model"),
        "/api/v1/agent/{agent_id}/chat_template_override": ask_agent("The agent's chat template override"),
        "/metrics": {
            "get": {
                "summary": "Prometheus text",
                "responses": {"200": {"description": "OK", "content": {"text/plain": {}}}, **unauthorized},
            }
        },
    }
    description = (
        "Paddler's management API. Agents connect to the WebSocket `/api/v1/agent_socket/{agent_id}` "
        "(JSON-RPC 2.0, docs/agent-socket.md); with --agent-secret its handshake needs "
        "`Authorization: Bearer <agent secret>`, and with --management-token every other path but "
        "/health and /openapi.json needs `Authorization: Bearer <management token>`."
    )
    return _document("paddler management API", description, paths, schemas)


def openai_openapi() -> dict[str, Any]:
    refs, schemas = _components(
        {
            "ChatCompletionRequest": CHAT_COMPLETION_REQUEST,
            "CompletionRequest": COMPLETION_REQUEST,
            "EmbeddingRequest": EMBEDDING_REQUEST,
            "ResponsesRequest": RESPONSES_REQUEST,
        }
    )
    schemas["Error"] = _OPENAI_ERROR
    error = {"$ref": _REF.format(model="Error")}
    answer = {
        "description": "The answer; with `stream: true`, SSE chunks ending with `data: [DONE]`",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {}},
    }

    def post(summary: str, body: str) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": _json_body(refs[body]),
                "responses": {"200": answer, **_error_responses(error, 400, 401, 404, 413, 429, 502, 504)},
            }
        }

    models = {"application/json": {"schema": {"type": "object"}}}
    paths = {
        "/health": _HEALTH,
        "/openapi.json": _OPENAPI_JSON,
        "/v1/models": {
            "get": {
                "summary": "The model being served",
                "responses": {
                    "200": {"description": "OK", "content": models},
                    **_error_responses(error, 401),
                },
            }
        },
        "/v1/chat/completions": post("Chat completions", "ChatCompletionRequest"),
        "/v1/completions": post("Completions of a raw prompt", "CompletionRequest"),
        "/v1/embeddings": post("Embeddings (unit length)", "EmbeddingRequest"),
        "/v1/responses": post("The Responses API over a conversation", "ResponsesRequest"),
    }
    description = (
        "The OpenAI compatible API; errors in the OpenAI shape. With --inference-api-key, requests "
        "need `Authorization: Bearer <key>`, as the OpenAI SDKs send their api_key."
    )
    return _document("paddler OpenAI compatible API", description, paths, schemas)


def openapi_route(document: dict[str, Any]) -> Route:
    """`GET /openapi.json`, serialized once."""
    body = orjson.dumps(document)

    async def serve(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route("/openapi.json", serve, methods=["GET"])
