import orjson
import pytest
from paddler_client.balancer_desired_state import BalancerDesiredState as ClientDesiredState

from paddler.protocol.agent_desired_model import HuggingFace, LocalToAgent, Url
from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE, BalancerDesiredState
from paddler.protocol.body_validation import InvalidBody, decode_json


def test_an_empty_object_gets_the_documented_defaults() -> None:
    state = decode_json(BALANCER_DESIRED_STATE, b"{}")

    assert isinstance(state, BalancerDesiredState)
    assert state.to_json_dict() == {
        "chat_template_override": None,
        "inference_parameters": {
            "n_batch": 2048,
            "context_size": 8192,
            "embedding_batch_size": 256,
            "enable_embeddings": False,
            "image_resize_to_fit": 1024,
            "k_cache_dtype": "Q8_0",
            "v_cache_dtype": "Q8_0",
            "min_p": 0.05,
            "n_gpu_layers": 0,
            "penalty_frequency": 0.0,
            "penalty_last_n": -1,
            "penalty_presence": 0.8,
            "penalty_repeat": 1.1,
            "pooling_type": "Last",
            "temperature": 0.8,
            "top_k": 80,
            "top_p": 0.8,
        },
        "model": "None",
        "multimodal_projection": "None",
        "use_chat_template_override": False,
    }


@pytest.mark.parametrize(
    ("model", "variant"),
    [
        ({"LocalToAgent": "/models/a.gguf"}, LocalToAgent),
        ({"HuggingFace": {"repo_id": "a/b", "filename": "c.gguf", "revision": "main"}}, HuggingFace),
        ({"Url": {"url": "http://127.0.0.1:1/m.gguf"}}, Url),
    ],
)
def test_models_are_externally_tagged_both_ways(model: object, variant: type) -> None:
    state = decode_json(BALANCER_DESIRED_STATE, orjson.dumps({"model": model}))

    assert isinstance(state, BalancerDesiredState)
    assert isinstance(state.model, variant)
    assert state.to_json_dict()["model"] == model


def test_what_the_official_client_sends_is_accepted_and_read_back_by_it() -> None:
    sent = ClientDesiredState.model_validate(
        {"model": {"LocalToAgent": "/m.gguf"}, "chat_template_override": {"content": "{{ x }}"}}
    ).model_dump_json(exclude_none=True, by_alias=True)

    state = decode_json(BALANCER_DESIRED_STATE, sent)

    assert isinstance(state, BalancerDesiredState)
    read_back = ClientDesiredState.model_validate_json(orjson.dumps(state.to_json_dict()))
    assert read_back.model.local_path == "/m.gguf"
    assert read_back.chat_template_override is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"modle": "None"}', "unknown field `modle`"),
        (b'{"inference_parameters": {"temprature": 1}}', "unknown field `inference_parameters.temprature`"),
        (b"{", "malformed JSON"),
        (b'{"inference_parameters": {"n_batch": "512"}}', "`inference_parameters.n_batch`"),
        (b'{"inference_parameters": {"top_p": 2}}', "`top_p` must be between 0 and 1"),
        (b'{"model": {"Ftp": "x"}}', "`model`: unknown or missing variant"),
        (b'{"model": {"LocalToAgent": 5}}', "`model.LocalToAgent`"),
        (b'{"use_chat_template_override": "yes"}', "`use_chat_template_override`"),
        (b"[]", "object"),
    ],
)
def test_invalid_states_are_refused_with_a_message_naming_the_problem(body: bytes, message: str) -> None:
    refused = decode_json(BALANCER_DESIRED_STATE, body)

    assert isinstance(refused, InvalidBody)
    assert message in refused.message
