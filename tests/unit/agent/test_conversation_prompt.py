import pytest

from paddler.agent.conversation_prompt import ChatTemplateError, ConversationPrompt

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_a_conversation_renders_with_the_generation_prompt() -> None:
    prompt = ConversationPrompt(CHATML).render(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, enable_thinking=False
    )

    assert prompt == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_a_template_that_does_not_compile_is_a_chat_template_error() -> None:
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ConversationPrompt("{% for %}")


def test_raise_exception_in_a_template_is_a_chat_template_error() -> None:
    template = ConversationPrompt("{{ raise_exception('roles must alternate') }}")

    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        template.render([], add_generation_prompt=True, enable_thinking=False)


def test_tojson_writes_json_not_html_escaped_text() -> None:
    template = ConversationPrompt("{{ messages[0] | tojson }}")

    messages = [{"role": "user", "content": "<b>é</b>"}]
    rendered = template.render(messages, add_generation_prompt=False, enable_thinking=False)

    assert rendered == '{"role": "user", "content": "<b>é</b>"}'


def test_the_sandbox_refuses_unsafe_attribute_access() -> None:
    template = ConversationPrompt("{{ messages.__class__.__mro__ }}")

    with pytest.raises(ChatTemplateError):
        template.render([], add_generation_prompt=False, enable_thinking=False)
