"""Where agents get a model from: serde's externally tagged `AgentDesiredModel`.

"None" | {"LocalToAgent": "/path"} | {"HuggingFace": {repo_id, filename, revision}} | {"Url": {url}}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Tag

from paddler.protocol.strict_model import StrictModel, externally_tagged


class HuggingFaceModelReference(StrictModel):
    repo_id: str = Field(min_length=1)
    filename: str = Field(min_length=1)
    revision: str = "main"


class UrlModelReference(StrictModel):
    url: str = Field(pattern=r"^https?://")


class LocalToAgent(StrictModel):
    LocalToAgent: str = Field(min_length=1)


class HuggingFace(StrictModel):
    HuggingFace: HuggingFaceModelReference


class Url(StrictModel):
    Url: UrlModelReference


AgentDesiredModel = Annotated[
    Annotated[Literal["None"], Tag("None")]
    | Annotated[LocalToAgent, Tag("LocalToAgent")]
    | Annotated[HuggingFace, Tag("HuggingFace")]
    | Annotated[Url, Tag("Url")],
    externally_tagged(),
]


def describe_model(model: AgentDesiredModel) -> str:
    """A short human name for logs and issues."""
    if isinstance(model, LocalToAgent):
        return model.LocalToAgent
    if isinstance(model, HuggingFace):
        reference = model.HuggingFace
        return f"{reference.repo_id}/{reference.filename}@{reference.revision}"
    if isinstance(model, Url):
        return model.Url.url
    return "None"
