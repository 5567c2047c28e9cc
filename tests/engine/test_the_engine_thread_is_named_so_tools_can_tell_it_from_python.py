import os
from pathlib import Path

from paddler.agent import InferenceEngine


def thread_names() -> list[str]:
    return [(task / "comm").read_text().strip() for task in Path(f"/proc/{os.getpid()}/task").iterdir()]


async def test_the_engine_thread_is_named_so_tools_can_tell_it_from_python(engine: InferenceEngine) -> None:
    # top -H, perf and py-spy otherwise show every thread of the agent as "python".
    assert "paddler-engine" in thread_names()
