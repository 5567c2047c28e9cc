from pathlib import Path

import pytest

from paddler.agent import EngineConfig, InferenceEngine, ModelLoadError
from tests.model_cards import smollm2


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not a gguf file at all" * 100, id="garbage"),
        pytest.param(smollm2().read_bytes()[: 2 * 1024 * 1024], id="truncated"),
    ],
)
async def test_corrupt_model_file_raises_model_load_error(tmp_path: Path, content: bytes) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(content)

    with pytest.raises(ModelLoadError, match="cannot load model"):
        await InferenceEngine.load(str(corrupt), EngineConfig(slots=1, context_size=256))
