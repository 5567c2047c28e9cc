"""A bounded but deep recursion (as the Hermes template's json_to_python_type
over a nested tool schema) needs more stack than a thread's usual 8 MiB at
this depth; templates are rendered on a stack of their own that holds it."""

from paddler.agent import EngineConfig, InferenceEngine
from tests.model_cards import smollm2

DEPTH = 6000
COUNTDOWN = (
    "{% macro countdown(n) %}{% if n > 0 %}{{ countdown(n - 1) }}{% else %}liftoff{% endif %}{% endmacro %}"
    "{{ countdown(" + str(DEPTH) + ") }}\n"
    "{% for message in messages %}{{ message.role }}: {{ message.content }}\n{% endfor %}"
)


async def test_a_template_recursing_deeper_than_a_thread_stack_holds_still_renders() -> None:
    config = EngineConfig(context_size=256, slots=1, threads=2, chat_template_override=COUNTDOWN)
    async with await InferenceEngine.load(str(smollm2()), config) as engine:
        assert engine.chat_template_error() is None
        prompt = await engine.render_conversation([{"role": "user", "content": "Hi"}])
        assert prompt == "liftoff\nuser: Hi\n"
