"""TEMPORARY ADAPTER: renders a conversation with the model's chat template in Python.

The native engine is getting chat templates (llama.cpp's `common` jinja),
token classification, grammars and tools; when it takes a conversation
history directly, this module goes away. Until then it is the one seam:
`ConversationPrompt(template).render(messages, ...)` -> prompt text, and
every token of the answer is reported as a ContentToken.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class ChatTemplateError(Exception):
    """The template does not compile, or fails on this conversation."""


def _raise_exception(message: str) -> None:
    raise ChatTemplateError(message)


def _tojson(value: Any, indent: int | None = None, **_: Any) -> str:
    # Templates expect Python's json.dumps, not jinja's HTML-escaping tojson.
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _strftime_now(format_string: str) -> str:
    return datetime.datetime.now().strftime(format_string)


class ConversationPrompt:
    def __init__(self, template: str, bos_token: str = "", eos_token: str = "") -> None:
        environment = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        environment.filters["tojson"] = _tojson
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            self._template = environment.from_string(template)
        except jinja2.TemplateError as error:
            raise ChatTemplateError(f"the chat template does not compile: {error}") from error
        self._bos_token = bos_token
        self._eos_token = eos_token

    def render(
        self, messages: list[dict[str, Any]], *, add_generation_prompt: bool, enable_thinking: bool
    ) -> str:
        try:
            return self._template.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                enable_thinking=enable_thinking,
                bos_token=self._bos_token,
                eos_token=self._eos_token,
            )
        except ChatTemplateError:
            raise
        except (jinja2.TemplateError, TypeError, ValueError, KeyError) as error:
            raise ChatTemplateError(f"the chat template failed on this conversation: {error}") from error
