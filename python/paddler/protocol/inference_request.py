"""Bodies of the two token generating requests, as clients send them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter

from paddler.protocol.strict_model import StrictModel


class TextContentPart(StrictModel):
    type: Literal["text"]
    text: str


class ImageUrl(StrictModel):
    url: str


class ImageUrlContentPart(StrictModel):
    type: Literal["image_url"]
    image_url: ImageUrl


ConversationMessageContentPart = Annotated[
    Annotated[TextContentPart, Tag("text")] | Annotated[ImageUrlContentPart, Tag("image_url")],
    Field(discriminator="type"),
]


def _content_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "parts"
    return None


# Tagged by shape so a bad part is reported once, not once per union member.
ConversationMessageContent = Annotated[
    Annotated[str, Tag("text")] | Annotated[list[ConversationMessageContentPart], Tag("parts")],
    Discriminator(_content_shape),
]


class ToolCallFunction(StrictModel):
    name: str = Field(min_length=1)
    # JSON text, as in the OpenAI API.
    arguments: str


class MessageToolCall(StrictModel):
    id: str = ""
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ConversationMessage(StrictModel):
    role: str
    content: ConversationMessageContent
    # Extensions beyond Paddler's {role, content}, for multi-turn tool use (the
    # OpenAI service sends them): the calls an assistant turn made, and which
    # call a tool turn answers. Absent, a message is exactly Paddler's.
    tool_calls: list[MessageToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The text of the message; image parts are not text."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextContentPart))


class GbnfGrammarConstraint(StrictModel):
    type: Literal["gbnf"]
    grammar: str
    root: str = "root"


class JsonSchemaGrammarConstraint(StrictModel):
    type: Literal["json_schema"]
    # The official client sends the schema as a JSON string; an object is
    # accepted too.
    schema_: str | dict[str, Any] = Field(alias="schema")


GrammarConstraint = Annotated[
    GbnfGrammarConstraint | JsonSchemaGrammarConstraint,
    Field(discriminator="type"),
]


class ToolFunction(StrictModel):
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] | None = None


class Tool(StrictModel):
    type: Literal["function"]
    function: ToolFunction


class ContinueFromConversationHistoryParams(StrictModel):
    add_generation_prompt: bool = True
    conversation_history: list[ConversationMessage]
    enable_thinking: bool = True
    max_tokens: int = Field(ge=-1)
    grammar: GrammarConstraint | None = None
    tools: list[Tool] = Field(default_factory=list)

    def has_images(self) -> bool:
        return any(
            isinstance(part, ImageUrlContentPart)
            for message in self.conversation_history
            if not isinstance(message.content, str)
            for part in message.content
        )


class ContinueFromRawPromptParams(StrictModel):
    raw_prompt: str
    max_tokens: int = Field(ge=-1)
    grammar: GrammarConstraint | None = None


CONTINUE_FROM_CONVERSATION_HISTORY = TypeAdapter(ContinueFromConversationHistoryParams)
CONTINUE_FROM_RAW_PROMPT = TypeAdapter(ContinueFromRawPromptParams)
