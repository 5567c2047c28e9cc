import pytest

from paddler.agent import ChatTemplateError, EngineConfig, ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, drain
from tests.model_cards import smollm2


async def test_chat_template_that_does_not_compile_gives_chat_template_error() -> None:
    broken = "{% for message in messages %}{{ message.content }"
    async with await InferenceEngine.load(
        str(smollm2()), EngineConfig(context_size=256, slots=1, threads=2, chat_template_override=broken)
    ) as engine:
        conversation = [{"role": "user", "content": "Hi"}]
        outcome = await drain(engine.continue_conversation(conversation, SamplingConfig(max_tokens=4)))
        raw = await drain(engine.generate(chat_prompt("Hi"), SamplingConfig(temperature=0.0, max_tokens=2)))

        assert engine.chat_template_error() is not None
        assert outcome.failed.kind is ErrorKind.CHAT_TEMPLATE_ERROR
        assert "does not compile" in outcome.failed.message
        # Raw prompts need no template and are still served.
        assert raw.finished.usage.completion_tokens == 2
        with pytest.raises(ChatTemplateError):
            await engine.render_conversation(conversation)
