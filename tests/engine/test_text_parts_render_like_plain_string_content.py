from paddler.agent import InferenceEngine


async def test_text_parts_render_like_plain_string_content(engine: InferenceEngine) -> None:
    as_string = [{"role": "user", "content": "Hello there"}]
    as_parts = [{"role": "user", "content": [{"type": "text", "text": "Hello there"}]}]

    assert await engine.render_conversation(as_parts) == await engine.render_conversation(as_string)
