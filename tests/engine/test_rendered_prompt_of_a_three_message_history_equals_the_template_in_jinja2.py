import jinja2

from paddler.agent import InferenceEngine

HISTORY = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Name a fruit."},
    {"role": "assistant", "content": "An apple."},
]


async def test_rendered_prompt_of_a_three_message_history_equals_the_template_in_jinja2(
    engine: InferenceEngine,
) -> None:
    # Hugging Face renders chat templates with these jinja2 settings.
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    expected = environment.from_string(engine.chat_template()).render(
        messages=HISTORY, add_generation_prompt=True
    )

    rendered = await engine.render_conversation(HISTORY)

    assert rendered == expected
    assert rendered.endswith("<|im_start|>assistant\n")
