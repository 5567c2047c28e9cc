"""Constraints on what a generation may output."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class ToolChoice(enum.StrEnum):
    # The model may call a tool.
    AUTO = "auto"
    # The model must call a tool: its output is constrained to a tool call.
    REQUIRED = "required"
    # Tools are described to the model but calls are not parsed.
    NONE = "none"


@dataclass(frozen=True, slots=True)
class GbnfGrammar:
    grammar: str
    root: str = "root"


@dataclass(frozen=True, slots=True)
class JsonSchemaGrammar:
    # The output will be JSON that validates against this schema.
    schema: dict[str, Any] | bool


Grammar = GbnfGrammar | JsonSchemaGrammar
