from typing import Any

from paddler.agent import InferenceEngine
from tests.engine.chat_templates import WEATHER_TOOL

HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "Weather in Oslo?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Snow, -3 C"},
]


async def test_tool_calls_and_tool_results_in_the_history_are_rendered(tool_engine: InferenceEngine) -> None:
    prompt = await tool_engine.render_conversation(HISTORY, tools=[WEATHER_TOOL])

    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in prompt
    assert "<tool_response>\nSnow, -3 C\n</tool_response>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
