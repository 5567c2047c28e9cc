"""Ceilings on what clients may send, each with its flag; 0 turns a count limit off.

The body size and the WebSocket frame size are enforced where bytes arrive
(`http_body`, the HTTP server), the sockets per address by a middleware; the
rest bound what a valid body means: how many tokens it may generate and how
long a conversation it may carry, checked before it is relayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paddler.protocol.body_validation import DEFAULT_MAX_BODY_BYTES
from paddler.protocol.grammar_limits import constraint_problem
from paddler.protocol.inference_request import (
    ContinueFromConversationHistoryParams,
    ContinueFromRawPromptParams,
    Tool,
)

# A generation longer than this is more likely a runaway loop than an answer.
DEFAULT_MAX_TOKENS = 32_768
# Far beyond a real conversation, far below what would weigh on the balancer.
DEFAULT_MAX_CONVERSATION_MESSAGES = 1_000
DEFAULT_MAX_CONVERSATION_CHARS = 4_000_000
# Inference sockets per client address: the official client opens 4 by default; a browser tab, one.
DEFAULT_MAX_SOCKETS_PER_CLIENT = 64
# What an inference socket may hold unsent for a client that does not read: far more than a
# reading client ever leaves (tokens are small), far less than would weigh on the balancer.
DEFAULT_MAX_WEBSOCKET_UNSENT_BYTES = 4 * 1024 * 1024
# Documents in one embedding batch. OpenAI's API takes at most 2048 inputs per
# request, and clients batch for Paddler in hundreds to a few thousand; what
# goes far beyond is a body of tiny documents, each of which becomes a whole
# vector on an agent and in the balancer's stream to a slow client.
DEFAULT_MAX_EMBEDDING_BATCH_DOCUMENTS = 8_192


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """Why a request was refused (400); `message` names the limit and its flag."""

    message: str


@dataclass(frozen=True, slots=True)
class RequestLimits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # A socket message carries what a body would.
    max_websocket_frame_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_sockets_per_client: int = DEFAULT_MAX_SOCKETS_PER_CLIENT
    max_websocket_unsent_bytes: int = DEFAULT_MAX_WEBSOCKET_UNSENT_BYTES
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_conversation_messages: int = DEFAULT_MAX_CONVERSATION_MESSAGES
    max_conversation_chars: int = DEFAULT_MAX_CONVERSATION_CHARS
    max_embedding_batch_documents: int = DEFAULT_MAX_EMBEDDING_BATCH_DOCUMENTS

    def token_limit(self, requested: int) -> int | LimitExceeded:
        """The max_tokens to send to the agent: `requested`, or the ceiling for "no limit" (-1).

        Asking for more than the ceiling is refused rather than cut short, so that
        a client never mistakes a truncated answer for a complete one.
        """
        if not self.max_tokens:
            return requested
        if requested < 0:
            return self.max_tokens
        if requested > self.max_tokens:
            return LimitExceeded(
                f"max_tokens {requested} is above this balancer's limit of {self.max_tokens} "
                "(--max-tokens-limit)"
            )
        return requested

    def check_conversation(self, texts: Iterable[str]) -> LimitExceeded | None:
        """`texts`: the text of each message (image parts are bounded by the body size)."""
        messages = 0
        chars = 0
        for text in texts:
            messages += 1
            chars += len(text)
        if self.max_conversation_messages and messages > self.max_conversation_messages:
            return LimitExceeded(
                f"the conversation has {messages} messages, above this balancer's limit of "
                f"{self.max_conversation_messages} (--max-conversation-messages)"
            )
        if self.max_conversation_chars and chars > self.max_conversation_chars:
            return LimitExceeded(
                f"the conversation has {chars} characters, above this balancer's limit of "
                f"{self.max_conversation_chars} (--max-conversation-chars)"
            )
        return None


GenerationParams = ContinueFromConversationHistoryParams | ContinueFromRawPromptParams


def limit_generation(params: GenerationParams, limits: RequestLimits) -> GenerationParams | LimitExceeded:
    """The params as they go to the agent (max_tokens within the ceiling), or why they are refused."""
    tools: Iterable[Tool] = ()
    if isinstance(params, ContinueFromConversationHistoryParams):
        exceeded = limits.check_conversation(message.text() for message in params.conversation_history)
        if exceeded is not None:
            return exceeded
        tools = params.tools
    too_complex = constraint_problem(params.grammar, tools)
    if too_complex is not None:
        return LimitExceeded(too_complex.message)
    max_tokens = limits.token_limit(params.max_tokens)
    if isinstance(max_tokens, LimitExceeded):
        return max_tokens
    return params if max_tokens == params.max_tokens else params.model_copy(update={"max_tokens": max_tokens})
