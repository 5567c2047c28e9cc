"""The one desired state of the cluster, set through the management API."""

from __future__ import annotations

from pydantic import Field, TypeAdapter

from paddler.protocol.agent_desired_model import AgentDesiredModel
from paddler.protocol.inference_parameters import InferenceParameters
from paddler.protocol.strict_model import StrictModel


class ChatTemplate(StrictModel):
    content: str


class BalancerDesiredState(StrictModel):
    chat_template_override: ChatTemplate | None = None
    inference_parameters: InferenceParameters = Field(default_factory=InferenceParameters)
    model: AgentDesiredModel = "None"
    multimodal_projection: AgentDesiredModel = "None"
    use_chat_template_override: bool = False

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")


BALANCER_DESIRED_STATE = TypeAdapter(BalancerDesiredState)


class AgentDesiredState(StrictModel):
    """What the balancer pushes to agents (`set_state`): the desired state with
    the chat template override already resolved."""

    chat_template_override: ChatTemplate | None = None
    inference_parameters: InferenceParameters = Field(default_factory=InferenceParameters)
    model: AgentDesiredModel = "None"
    multimodal_projection: AgentDesiredModel = "None"


AGENT_DESIRED_STATE = TypeAdapter(AgentDesiredState)
