import asyncio
import sys
from pathlib import Path

from paddler.agent import (
    EmbeddingDocument,
    EngineConfig,
    ErrorKind,
    InferenceEngine,
    Normalization,
    PoolingType,
    SamplingConfig,
)
from tests.engine.generation import drain
from tests.model_cards import smollm2


async def without_chat_template(destination: Path) -> Path:
    """A copy of SmolLM2 without its chat template, written by gguf's own tool."""
    copy = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gguf.scripts.gguf_new_metadata",
        str(smollm2()),
        str(destination),
        "--remove-metadata",
        "tokenizer.chat_template",
        "--force",
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await copy.wait() == 0
    return destination


async def test_model_without_a_chat_template_embeds_and_refuses_conversations(tmp_path: Path) -> None:
    bare = await without_chat_template(tmp_path / "no-template.gguf")
    config = EngineConfig(
        context_size=256, slots=1, threads=2, enable_embeddings=True, pooling_type=PoolingType.MEAN
    )
    async with await InferenceEngine.load(str(bare), config) as engine:
        embeddings = await engine.embed([EmbeddingDocument("d", "Still works.")], Normalization())
        outcome = await drain(
            engine.continue_conversation([{"role": "user", "content": "Hi"}], SamplingConfig(max_tokens=2))
        )

        assert engine.chat_template() == ""
        assert len(embeddings[0].vector) == 576
        assert outcome.failed.kind is ErrorKind.CHAT_TEMPLATE_ERROR
        assert "no chat template" in outcome.failed.message
