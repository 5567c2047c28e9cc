"""What clients send on `/api/v1/inference_socket`.

{"Request": {"id": "...", "request": {"ContinueFromConversationHistory": {...}}}}
{"Request": {"id": "...", "request": {"ContinueFromRawPrompt": {...}}}}
{"Notification": {"StopRespondingTo": "..."}}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Tag, TypeAdapter

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
