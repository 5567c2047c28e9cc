"""What clients send on `/api/v1/inference_socket`.

{"Request": {"id": "...", "request": {"ContinueFromConversationHistory": {...}}}}
{"Request": {"id": "...", "request": {"ContinueFromRawPrompt": {...}}}}
{"Notification": {"StopRespondingTo": "..."}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from pydantic import Field, Tag, TypeAdapter, ValidationError

from paddler.protocol.body_validation import InvalidBody, decode_json
from paddler.protocol.inference_request import (
    ContinueFromConversationHistoryParams,
    ContinueFromRawPromptParams,
)
from paddler.protocol.strict_model import StrictModel, externally_tagged


class ContinueFromConversationHistory(StrictModel):
    ContinueFromConversationHistory: ContinueFromConversationHistoryParams


class ContinueFromRawPrompt(StrictModel):
    ContinueFromRawPrompt: ContinueFromRawPromptParams


InferenceSocketRequestBody = Annotated[
    Annotated[ContinueFromConversationHistory, Tag("ContinueFromConversationHistory")]
    | Annotated[ContinueFromRawPrompt, Tag("ContinueFromRawPrompt")],
    externally_tagged(),
]


class InferenceSocketRequest(StrictModel):
    id: str = Field(min_length=1)
    request: InferenceSocketRequestBody


class RequestEnvelope(StrictModel):
    Request: InferenceSocketRequest


class StopRespondingTo(StrictModel):
    StopRespondingTo: str


class NotificationEnvelope(StrictModel):
    Notification: Annotated[Annotated[StopRespondingTo, Tag("StopRespondingTo")], externally_tagged()]


InferenceSocketClientMessage = Annotated[
    Annotated[RequestEnvelope, Tag("Request")] | Annotated[NotificationEnvelope, Tag("Notification")],
    externally_tagged(),
]

INFERENCE_SOCKET_CLIENT_MESSAGE: TypeAdapter[RequestEnvelope | NotificationEnvelope] = TypeAdapter(
    InferenceSocketClientMessage
)


# Not frozen, but never changed: one is built per token or per request on the
# balancer's hot path, where a frozen dataclass costs more to build.
@dataclass(slots=True)
class SocketRequest:
    """A generation request from the socket: its client's id and its params."""

    id: str
    params: ContinueFromConversationHistoryParams | ContinueFromRawPromptParams
    # The params as the client sent them, when the fast path validated them: they can go to
    # the agent as they are, which validates them with the same model.
    sent: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SocketStop:
    """StopRespondingTo: the client no longer wants `request_id`."""

    request_id: str


_PARAMS: dict[str, TypeAdapter[ContinueFromConversationHistoryParams | ContinueFromRawPromptParams]] = {
    "ContinueFromConversationHistory": TypeAdapter(ContinueFromConversationHistoryParams),
    "ContinueFromRawPrompt": TypeAdapter(ContinueFromRawPromptParams),
}


def decode_inference_socket_message(frame: str | bytes) -> SocketRequest | SocketStop | InvalidBody:
    """One client message, validated with exactly the rules of INFERENCE_SOCKET_CLIENT_MESSAGE.

    A well-formed request takes a fast path: the envelope is checked by hand
    and only its params go through pydantic, as Python values. Validating the
    whole frame as JSON went through the externally tagged unions' callable
    discriminators, which made pydantic build Python objects of the frame
    anyway, at two to four times the cost; it was a fifth of the balancer's
    CPU time per dispatch. Strict validation of plain JSON values accepts no
    more than strict JSON validation does, so anything the fast path refuses
    goes through the full adapter, which accepts or names the problem.
    """
    fast = _fast_request(frame)
    if fast is not None:
        return fast
    return decode_with_the_full_adapter(frame)


def decode_with_the_full_adapter(frame: str | bytes) -> SocketRequest | SocketStop | InvalidBody:
    """The reference: the whole frame through INFERENCE_SOCKET_CLIENT_MESSAGE."""
    decoded = decode_json(INFERENCE_SOCKET_CLIENT_MESSAGE, frame)
    if isinstance(decoded, InvalidBody):
        return decoded
    if isinstance(decoded, NotificationEnvelope):
        return SocketStop(decoded.Notification.StopRespondingTo)
    body = decoded.Request.request
    if isinstance(body, ContinueFromConversationHistory):
        return SocketRequest(decoded.Request.id, body.ContinueFromConversationHistory)
    return SocketRequest(decoded.Request.id, body.ContinueFromRawPrompt)


def _fast_request(frame: str | bytes) -> SocketRequest | None:
    try:
        message: Any = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if type(message) is not dict or len(message) != 1:
        return None
    request = message.get("Request")
    if type(request) is not dict or len(request) != 2:
        return None
    request_id = request.get("id")
    body = request.get("request")
    if type(request_id) is not str or not request_id or type(body) is not dict or len(body) != 1:
        return None
    ((kind, params),) = body.items()
    adapter = _PARAMS.get(kind)
    if adapter is None or type(params) is not dict:
        return None
    try:
        return SocketRequest(request_id, adapter.validate_python(params), params)
    except ValidationError:
        return None
