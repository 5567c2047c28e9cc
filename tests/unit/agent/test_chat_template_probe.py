"""The chat template probe, run for real: a child process rendering with
llama.cpp's jinja engine and SmolLM2's vocabulary."""

from __future__ import annotations

from paddler.agent.chat_template_probe import (
    ChatTemplateProbeLimits,
    ChatTemplateProbeVerdict,
    probe_chat_template,
)
from tests.engine.chat_templates import HERMES_TOOLS
from tests.model_cards import smollm2

SHORT = ChatTemplateProbeLimits(timeout_s=3.0, memory_bytes=1 << 30)


async def test_the_models_own_template_and_a_tool_template_survive() -> None:
    for override in (None, HERMES_TOOLS):
        outcome = await probe_chat_template(smollm2(), override)
        assert outcome.verdict is ChatTemplateProbeVerdict.SURVIVED, outcome
        assert not outcome.refused
        assert "0 refused by it" in outcome.problem, outcome


async def test_a_template_that_recurses_without_end_is_refused_as_a_crash() -> None:
    outcome = await probe_chat_template(smollm2(), "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", SHORT)
    assert outcome.verdict is ChatTemplateProbeVerdict.CRASHED, outcome
    assert outcome.refused
    assert "SIGSEGV" in outcome.problem


async def test_a_template_that_loops_too_long_is_refused_at_the_time_limit() -> None:
    looping = "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}"
    outcome = await probe_chat_template(smollm2(), looping, SHORT)
    assert outcome.verdict is ChatTemplateProbeVerdict.RAN_OUT_OF_TIME, outcome
    assert outcome.refused
    assert "longer than 3 s" in outcome.problem
    assert outcome.elapsed_s < SHORT.timeout_s + 2.0


async def test_a_template_that_allocates_without_bound_is_refused_at_the_memory_limit() -> None:
    growing = "{% set s = 'x' * 100000000 %}{{ [s, s, s, s, s, s, s, s, s, s, s, s] | join }}"
    outcome = await probe_chat_template(smollm2(), growing, SHORT)
    assert outcome.verdict is ChatTemplateProbeVerdict.RAN_OUT_OF_MEMORY, outcome
    assert outcome.refused
    assert "1024 MiB" in outcome.problem


async def test_a_template_that_does_not_compile_or_raises_is_not_refused() -> None:
    # Ordinary template problems: the engine reports them as it always has.
    for template in ("{% for message in messages %}{{ message.content }", "{{ raise_exception('no') }}"):
        outcome = await probe_chat_template(smollm2(), template, SHORT)
        assert outcome.verdict is ChatTemplateProbeVerdict.SURVIVED, outcome
        assert not outcome.refused


async def test_a_template_that_refuses_some_conversations_survives() -> None:
    # As Mistral's templates refuse roles that do not alternate: an error for
    # some conversations (here one of the probe's asks for a joke) is not a crash.
    picky = (
        "{% for message in messages %}{% if message.content is string and 'joke' in message.content %}"
        "{{ raise_exception('no jokes') }}{% endif %}{{ message.content }}{% endfor %}"
    )
    outcome = await probe_chat_template(smollm2(), picky, SHORT)
    assert outcome.verdict is ChatTemplateProbeVerdict.SURVIVED, outcome
    assert not outcome.refused
    assert "0 refused by it" not in outcome.problem, outcome
