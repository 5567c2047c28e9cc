"""The base of every request shape, and serde's externally tagged enums.

Unknown fields and wrong types are errors: clients get a 400 naming the field
instead of a silent coercion.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Discriminator


class StrictModel(BaseModel):
    # strict: "5" is not an int and 1.5 is not an int. frozen: messages are values.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _external_tag(value: Any) -> str | None:
    # serde writes a unit variant as its name and a variant with data as a
    # one-key object; a validated variant model is named after its one field.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return next(iter(value)) if len(value) == 1 else None
    if isinstance(value, BaseModel):  # an already validated variant
        return type(value).__name__
    return None


def externally_tagged() -> Discriminator:
    """For `Annotated[Union[Annotated[X, Tag("X")], ...], externally_tagged()]`."""
    return Discriminator(_external_tag)
