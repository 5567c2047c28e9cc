"""The web admin panel's TypeScript decoders are tested (Vitest) against
frontend/src/api/serverShapes.json; this test keeps that file equal to what the
balancer really sends, so a change on either side fails a test.

PADDLER_WRITE_PANEL_FIXTURE=1 rewrites the file after an intended change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from paddler.balancer.dispatch.agent_circuit_breaker import FAILURE_THRESHOLD
from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.protocol.agent_status import AgentStateApplicationStatus, AgentStatus
from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE, BalancerDesiredState
from paddler.protocol.inference_response import error_envelope, response_envelope, usage
from paddler.protocol.inference_socket_message import INFERENCE_SOCKET_CLIENT_MESSAGE

FIXTURE = Path(__file__).resolve().parents[3] / "frontend" / "src" / "api" / "serverShapes.json"

# A 1x1 PNG, as the Prompt page attaches it.
PIXEL_PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def client_shapes() -> dict[str, Any]:
    """What the panel sends, validated by the balancer's own model of the socket's messages
    (the panel's tests check that it builds exactly these)."""
    image_request = {
        "Request": {
            "id": "panel-1",
            "request": {
                "ContinueFromConversationHistory": {
                    "add_generation_prompt": True,
                    "conversation_history": [
                        {"role": "system", "content": "Be brief."},
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "What is in this picture?"},
                                {"type": "image_url", "image_url": {"url": PIXEL_PNG}},
                            ],
                        },
                    ],
                    "enable_thinking": False,
                    "max_tokens": 16,
                }
            },
        }
    }
    validated = INFERENCE_SOCKET_CLIENT_MESSAGE.validate_python(image_request)
    return {"image_request": validated.model_dump(mode="json", by_alias=True, exclude_unset=True)}


def server_shapes() -> dict[str, Any]:
    idle = AgentController("agent-1", "gpu-box", 4)
    downloading = AgentController("agent-2", None, 2)
    downloading.status = AgentStatus(
        desired_slots_total=2,
        download_current=1_000_000,
        download_total=4_000_000,
        download_filename="model.gguf",
        issues=["SlotCannotStart", {"ModelCannotBeLoaded": "/models/missing.gguf"}],
        model_path="/models/model.gguf",
        state_application_status=AgentStateApplicationStatus.ATTEMPTED_AND_RETRYING,
    )
    # Its circuit breaker opens: the one extra field the list carries then.
    for _ in range(FAILURE_THRESHOLD):
        downloading.record_outcome(succeeded=False)
    full_state = BALANCER_DESIRED_STATE.validate_python(
        {
            "model": {"HuggingFace": {"repo_id": "owner/repo", "filename": "m.gguf", "revision": "main"}},
            "multimodal_projection": {"Url": {"url": "https://example.com/mmproj.gguf"}},
            "chat_template_override": {"content": "{{ messages }}"},
            "use_chat_template_override": True,
        }
    )
    return {
        "agents": {"agents": [idle.snapshot(), downloading.snapshot()]},
        "buffered_requests": {"buffered_requests_current": 3},
        "client_messages": client_shapes(),
        "default_desired_state": BalancerDesiredState().to_json_dict(),
        "full_desired_state": full_state.to_json_dict(),
        "inference_messages": [
            response_envelope("r1", "agent-1", {"GeneratedToken": {"ReasoningToken": "hmm"}}),
            response_envelope("r1", "agent-1", {"GeneratedToken": {"ContentToken": "Hi"}}),
            response_envelope(
                "r1", "agent-1", {"GeneratedToken": {"Done": {"usage": usage(prompt_tokens=5)}}}
            ),
            response_envelope("r2", None, "TooManyBufferedRequests"),
            error_envelope("r3", 503, "no agents"),
            response_envelope(
                "r4",
                "agent-1",
                {"GeneratedToken": {"MultimodalNotSupported": "the model has no multimodal projection"}},
            ),
        ],
    }


async def test_the_panel_fixture_of_server_shapes_matches_the_protocol() -> None:
    # Async: an opening circuit breaker schedules its half-open trial on the running loop.
    expected = orjson.dumps(server_shapes(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if os.environ.get("PADDLER_WRITE_PANEL_FIXTURE") == "1":
        FIXTURE.write_bytes(expected)
    assert FIXTURE.read_bytes() == expected, (
        f"{FIXTURE} is not what the balancer sends; rerun with PADDLER_WRITE_PANEL_FIXTURE=1, "
        "then run the panel's tests (npm test) to see whether its decoders still fit"
    )
