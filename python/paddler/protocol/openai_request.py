"""Request bodies of the OpenAI compatible API: what we honour, and nothing we would silently ignore.

Fields the OpenAI API defines but this server cannot honour yet are accepted
only with their neutral values (`n: 1`, `logprobs: false`, no tools); any
other value is a 400 in OpenAI's error shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from paddler.protocol.strict_model import StrictModel


class TextPart(StrictModel):
    type: Literal["text"]
    text: str


class ImageUrl(StrictModel):
    url: str
    # OpenAI's hint for its own image tiling; the agent's projector has no such choice.
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(StrictModel):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatToolCallFunction(StrictModel):
    name: str
    arguments: str


class ChatToolCall(StrictModel):
    id: str
    type: Literal["function"] = "function"
    function: ChatToolCallFunction


class ChatMessage(StrictModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    # Image parts go to the agent as Paddler's OpenAI service passes them, for a multimodal model.
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ChatToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None

    @model_validator(mode="after")
    def _has_content(self) -> ChatMessage:
        # As OpenAI and llama-server: only an assistant's turn that called tools
        # (or refused) may come without content.
        if self.content is None and not (self.role == "assistant" and (self.tool_calls or self.refusal)):
            needs = "`content` or `tool_calls`" if self.role == "assistant" else "`content`"
            raise ValueError(f"missing field `content`: a message of role {self.role!r} needs {needs}")
        return self

    def for_agent(self) -> dict[str, Any]:
        """The message as the agent's conversation history takes it."""
        roles = {"developer": "system"}
        message: dict[str, Any] = {"role": roles.get(self.role, self.role), "content": self.agent_content()}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump(mode="json") for call in self.tool_calls]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    def agent_content(self) -> str | list[dict[str, Any]]:
        """Text, or the agent's content parts when the message has images."""
        if isinstance(self.content, list) and any(isinstance(part, ImagePart) for part in self.content):
            return [
                {"type": "text", "text": part.text}
                if isinstance(part, TextPart)
                else {"type": "image_url", "image_url": {"url": part.image_url.url}}
                for part in self.content
            ]
        return self.text()


class StreamOptions(StrictModel):
    include_usage: bool = False


class JsonSchemaFormat(StrictModel):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(StrictModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    def grammar(self) -> dict[str, Any] | None:
        """The agent's grammar constraint for this format, None for plain text."""
        if self.type == "text":
            return None
        if self.type == "json_object" or self.json_schema is None or self.json_schema.schema_ is None:
            return {"type": "json_schema", "schema": {"type": "object"}}
        return {"type": "json_schema", "schema": self.json_schema.schema_}


class FunctionDefinition(StrictModel):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(StrictModel):
    type: Literal["function"]
    function: FunctionDefinition

    def for_agent(self) -> dict[str, Any]:
        function: dict[str, Any] = {"name": self.function.name, "description": self.function.description}
        if self.function.parameters is not None:
            function["parameters"] = self.function.parameters
        return {"type": "function", "function": function}


class _SamplingFields(StrictModel):
    model: str = ""
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    seed: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1
    user: str | None = None
    # Bookkeeping fields of OpenAI's API that change nothing in what is generated:
    # accepted (clients and SDK wrappers send them) and not acted upon.
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    # Only their neutral values can be honoured.
    logit_bias: Annotated[dict[str, float], Field(max_length=0)] | None = None
    top_logprobs: Literal[0] | None = None
    # An extension (as in llama.cpp's server): generate exactly max_tokens.
    ignore_eos: bool = False

    def stop_strings(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def sampling(self) -> dict[str, Any]:
        overrides = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "seed": self.seed,
        }
        sampling: dict[str, Any] = {name: value for name, value in overrides.items() if value is not None}
        sampling["stop"] = self.stop_strings()
        sampling["ignore_eos"] = self.ignore_eos
        return sampling


class NamedFunction(StrictModel):
    name: str


class NamedToolChoice(StrictModel):
    type: Literal["function"]
    function: NamedFunction


class ChatCompletionRequest(_SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: Literal[False] | None = None
    # "none" turns a thinking model's reasoning off; any other effort leaves it on.
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None

    @model_validator(mode="after")
    def _honourable(self) -> ChatCompletionRequest:
        if self.tools and self.response_format is not None and self.response_format.type != "text":
            raise ValueError("`response_format` cannot be combined with `tools`")
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {tool.function.name for tool in self.tools or []}
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"`tool_choice` names {self.tool_choice.function.name!r}, which is not in `tools`"
                )
        elif self.tool_choice == "required" and not self.tools:
            raise ValueError('`tool_choice` "required" needs `tools`')
        return self

    def agent_tools(self) -> list[dict[str, Any]]:
        if not self.tools or self.tool_choice == "none":
            return []
        if isinstance(self.tool_choice, NamedToolChoice):
            # A named function: only it is offered, and it must be called.
            name = self.tool_choice.function.name
            return [tool.for_agent() for tool in self.tools if tool.function.name == name]
        return [tool.for_agent() for tool in self.tools]

    def sampling(self) -> dict[str, Any]:
        sampling = super().sampling()
        if self.agent_tools() and (
            self.tool_choice == "required" or isinstance(self.tool_choice, NamedToolChoice)
        ):
            sampling["tool_choice"] = "required"
        return sampling

    def token_limit(self) -> int:
        return self.max_completion_tokens or self.max_tokens or -1

    def enable_thinking(self) -> bool:
        """On unless asked off, as in Paddler and llama-server; off under a response format,
        whose grammar constrains the answer from its first token (no room for a preamble)."""
        if self.reasoning_effort == "none":
            return False
        return self.response_format is None or self.response_format.grammar() is None


class CompletionRequest(_SamplingFields):
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    max_tokens: int | None = Field(default=16, ge=1)
    echo: Literal[False] = False
    logprobs: None = None

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


class EmbeddingRequest(StrictModel):
    input: str | Annotated[list[str], Field(min_length=1, max_length=2048)]
    model: str = ""
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


CHAT_COMPLETION_REQUEST = TypeAdapter(ChatCompletionRequest)
EMBEDDING_REQUEST = TypeAdapter(EmbeddingRequest)
COMPLETION_REQUEST = TypeAdapter(CompletionRequest)


class InputText(StrictModel):
    type: Literal["input_text", "output_text"]
    text: str
    annotations: list[Any] | None = None


class InputMessage(StrictModel):
    type: Literal["message"] | None = None
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[InputText]
    id: str | None = None
    status: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class TextFormat(StrictModel):
    type: Literal["text"]


class TextConfig(StrictModel):
    format: TextFormat | None = None


class ResponsesRequest(StrictModel):
    """The Responses API, without tools, state (`previous_response_id`) or structured output yet."""

    model: str = ""
    input: str | list[InputMessage]
    instructions: str | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    stream: bool = False
    store: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    text: TextConfig | None = None
    tools: Annotated[list[dict[str, Any]], Field(max_length=0)] | None = None
    tool_choice: Literal["none", "auto"] | None = None
    parallel_tool_calls: bool | None = None
    truncation: Literal["disabled"] | None = None

    def conversation(self) -> list[dict[str, str]]:
        messages = [] if self.instructions is None else [{"role": "system", "content": self.instructions}]
        if isinstance(self.input, str):
            return [*messages, {"role": "user", "content": self.input}]
        roles = {"developer": "system"}
        return messages + [
            {"role": roles.get(message.role, message.role), "content": message.text()}
            for message in self.input
        ]

    def sampling(self) -> dict[str, Any]:
        overrides = {"temperature": self.temperature, "top_p": self.top_p}
        return {name: value for name, value in overrides.items() if value is not None}


RESPONSES_REQUEST = TypeAdapter(ResponsesRequest)
