import asyncio
import signal
import sys

import httpx
import orjson

from tests.integration.conftest import chat_prompt, free_port, token_text, wait_until


async def test_quickstart_serves_smollm2_and_stops_everything_on_sigterm() -> None:
    inference, management = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    panel = f"127.0.0.1:{free_port()}"
    quickstart = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "paddler", "quickstart", "--inference-addr", inference, "--management-addr", management),
        *("--web-admin-panel-addr", panel),
        *("--slots", "1", "--context-size", "1024", "--threads", "1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert quickstart.stdout is not None
    printed = ""
    try:
        while "Ctrl-C stops everything" not in printed:
            line = await asyncio.wait_for(quickstart.stdout.readline(), 60)
            assert line, printed
            printed += line.decode()
        async with httpx.AsyncClient(timeout=30) as http:

            async def serving() -> bool:
                agents = (await http.get(f"http://{management}/api/v1/agents")).json()["agents"]
                return bool(agents) and agents[0]["state_application_status"] == "Applied"

            await wait_until(serving, what="the quickstart agent to serve")
            response = await http.post(
                f"http://{inference}/api/v1/continue_from_raw_prompt",
                json={"raw_prompt": chat_prompt("Say hello."), "max_tokens": 3},
            )
    finally:
        quickstart.send_signal(signal.SIGTERM)
        await quickstart.stdout.read()
        code = await asyncio.wait_for(quickstart.wait(), 30)

    assert f"inference API   http://{inference}" in printed
    assert f"admin panel     http://{panel}" in printed
    assert f"curl -N http://{inference}/api/v1/continue_from_conversation_history" in printed
    assert token_text([orjson.loads(line) for line in response.text.splitlines()])
    assert code == 0
