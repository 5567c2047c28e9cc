from paddler.agent import InferenceEngine


async def test_engine_reports_metadata_and_chat_template(engine: InferenceEngine) -> None:
    metadata = engine.metadata()

    assert metadata["general.architecture"] == "llama"
    assert metadata["tokenizer.chat_template"] == engine.chat_template()
    assert "<|im_start|>" in engine.chat_template()
    assert all(isinstance(value, str) for value in metadata.values())
