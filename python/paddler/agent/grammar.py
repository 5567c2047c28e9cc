"""Constraints on what a generation may output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GbnfGrammar:
    grammar: str
    root: str = "root"


@dataclass(frozen=True, slots=True)
class JsonSchemaGrammar:
    # The output will be JSON that validates against this schema.
    schema: dict[str, Any] | bool


Grammar = GbnfGrammar | JsonSchemaGrammar
