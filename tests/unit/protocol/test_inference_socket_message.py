import orjson
from paddler_client.continue_from_conversation_history_params import ContinueFromConversationHistoryParams
from paddler_client.conversation_message import ConversationMessage

from paddler.protocol.body_validation import InvalidBody, decode_json
from paddler.protocol.inference_socket_message import (
    INFERENCE_SOCKET_CLIENT_MESSAGE,
    ContinueFromConversationHistory,
    NotificationEnvelope,
    RequestEnvelope,
)


def test_a_request_as_the_official_client_sends_it_is_understood() -> None:
    params = ContinueFromConversationHistoryParams(
        add_generation_prompt=True,
        conversation_history=[ConversationMessage(role="user", content="Hi")],
        enable_thinking=False,
        max_tokens=8,
    ).model_dump(mode="json", exclude_none=True, by_alias=True)
    frame = orjson.dumps({"Request": {"id": "r1", "request": {"ContinueFromConversationHistory": params}}})

    message = decode_json(INFERENCE_SOCKET_CLIENT_MESSAGE, frame)

    assert isinstance(message, RequestEnvelope)
    assert message.Request.id == "r1"
    assert isinstance(message.Request.request, ContinueFromConversationHistory)
    assert message.Request.request.ContinueFromConversationHistory.conversation_history[0].text() == "Hi"


def test_stop_responding_to_is_a_notification() -> None:
    message = decode_json(INFERENCE_SOCKET_CLIENT_MESSAGE, b'{"Notification": {"StopRespondingTo": "r1"}}')

    assert isinstance(message, NotificationEnvelope)
    assert message.Notification.StopRespondingTo == "r1"


def test_an_unknown_field_deep_in_a_request_is_named() -> None:
    params = {"raw_prompt": "x", "max_tokens": 1, "temp": 1}
    frame = orjson.dumps({"Request": {"id": "r", "request": {"ContinueFromRawPrompt": params}}})

    refused = decode_json(INFERENCE_SOCKET_CLIENT_MESSAGE, frame)

    assert isinstance(refused, InvalidBody)
    assert refused.message == "unknown field `Request.request.ContinueFromRawPrompt.temp`"


def test_an_image_part_is_kept_and_detected() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "data:x"}}]
    params = {"conversation_history": [{"role": "user", "content": content}], "max_tokens": 1}
    frame = orjson.dumps({"Request": {"id": "r", "request": {"ContinueFromConversationHistory": params}}})

    message = decode_json(INFERENCE_SOCKET_CLIENT_MESSAGE, frame)

    assert isinstance(message, RequestEnvelope)
    assert isinstance(message.Request.request, ContinueFromConversationHistory)
    assert message.Request.request.ContinueFromConversationHistory.has_images()
