from pathlib import Path

import pytest

from paddler.agent import EngineConfig, InferenceEngine, ModelLoadError


async def test_missing_model_file_raises_model_load_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"

    with pytest.raises(ModelLoadError, match="model file not found"):
        await InferenceEngine.load(str(missing), EngineConfig(slots=1, context_size=256))
