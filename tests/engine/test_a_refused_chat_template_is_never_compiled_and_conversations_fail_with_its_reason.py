from paddler.agent import EngineConfig, ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, drain
from tests.model_cards import smollm2

# Compiling this would overflow the stack and end the test process.
RECURSIVE = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"
REASON = "the chat template override was refused: rendering it crashed"


async def test_a_refused_chat_template_is_never_compiled_and_conversations_fail_with_its_reason() -> None:
    config = EngineConfig(
        context_size=256, slots=1, threads=2, chat_template_override=RECURSIVE, chat_template_refusal=REASON
    )
    async with await InferenceEngine.load(str(smollm2()), config) as engine:
        conversation = [{"role": "user", "content": "Hi"}]
        outcome = await drain(engine.continue_conversation(conversation, SamplingConfig(max_tokens=4)))
        raw = await drain(engine.generate(chat_prompt("Hi"), SamplingConfig(temperature=0.0, max_tokens=2)))

        assert engine.chat_template_error() == REASON
        assert outcome.failed.kind is ErrorKind.CHAT_TEMPLATE_ERROR
        assert outcome.failed.message == REASON
        assert raw.finished.usage.completion_tokens == 2
