import sys

import httpx
import orjson

from tests.integration.conftest import chat_prompt, free_port, token_text
from tests.integration.quickstart_process import quickstart_process


async def test_quickstart_serves_smollm2_and_stops_everything_on_sigterm() -> None:
    inference, management = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    panel = f"127.0.0.1:{free_port()}"
    async with (
        quickstart_process(
            sys.executable,
            management,
            *("--inference-addr", inference, "--web-admin-panel-addr", panel),
            *("--slots", "1", "--context-size", "1024", "--threads", "1"),
        ) as quickstart,
        httpx.AsyncClient(timeout=30) as http,
    ):
        response = await http.post(
            f"http://{inference}/api/v1/continue_from_raw_prompt",
            json={"raw_prompt": chat_prompt("Say hello."), "max_tokens": 3},
        )

    assert f"inference API   http://{inference}" in quickstart.printed
    assert f"admin panel     http://{panel}" in quickstart.printed
    assert f"curl -N http://{inference}/api/v1/continue_from_conversation_history" in quickstart.printed
    assert token_text([orjson.loads(line) for line in response.text.splitlines()])
    assert quickstart.exit_code == 0
