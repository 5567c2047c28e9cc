"""decode_inference_socket_message validates well-formed requests without the
callable discriminators; it must accept and refuse exactly what the full
adapter does, and give the same params."""

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from paddler.protocol.inference_socket_message import (
    _fast_request,
    decode_inference_socket_message,
    decode_with_the_full_adapter,
)
from tests.integration.json_strategies import json_values

KINDS = ("ContinueFromConversationHistory", "ContinueFromRawPrompt")
# Real field names with values of any JSON type: strict typing is where the two could part.
PARAM_FIELDS = (
    "raw_prompt",
    "conversation_history",
    "max_tokens",
    "add_generation_prompt",
    "enable_thinking",
    "grammar",
    "tools",
    "temperature",
)
plausible_values = st.one_of(
    json_values,
    st.just([{"role": "user", "content": "Hi"}]),
    st.just([{"role": "user", "content": [{"type": "text", "text": "a"}]}]),
    st.just({"type": "gbnf", "grammar": 'root ::= "a"'}),
    st.just({"type": "json_schema", "schema": {"type": "object"}}),
    st.just([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
    st.integers(0, 100),
    st.floats(0, 2, allow_nan=False),
)
params = st.dictionaries(st.sampled_from(PARAM_FIELDS), plausible_values, max_size=5)
frames = st.builds(
    lambda kind, body, request_id, extra: {
        "Request": {"id": request_id, "request": {kind: body}, **extra},
    },
    st.sampled_from(KINDS),
    params,
    st.one_of(st.text(max_size=5), st.integers(-9, 9)),
    st.dictionaries(st.sampled_from(["x", "id2"]), json_values, max_size=1),
)


@settings(max_examples=400, deadline=None)
@given(frames)
def test_the_socket_fast_decoder_agrees_with_the_full_adapter(message: dict[str, Any]) -> None:
    frame = orjson.dumps(message)

    assert decode_inference_socket_message(frame) == decode_with_the_full_adapter(frame)


WELL_FORMED = [
    {"raw_prompt": "Hello", "max_tokens": 1},
    {"raw_prompt": "Hello", "max_tokens": 8, "grammar": {"type": "gbnf", "grammar": 'root ::= "a"'}},
    {
        "conversation_history": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}],
            },
        ],
        "add_generation_prompt": True,
        "enable_thinking": False,
        "max_tokens": 4,
        "grammar": {"type": "json_schema", "schema": '{"type": "object"}'},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    },
]


def test_well_formed_requests_of_both_kinds_take_the_fast_path_with_the_same_params() -> None:
    for body in WELL_FORMED:
        kind = "ContinueFromRawPrompt" if "raw_prompt" in body else "ContinueFromConversationHistory"
        frame = orjson.dumps({"Request": {"id": "r1", "request": {kind: body}}})

        assert _fast_request(frame) is not None
        assert decode_inference_socket_message(frame) == decode_with_the_full_adapter(frame)
