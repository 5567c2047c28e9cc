import asyncio
import signal

import httpx
import orjson

from tests.integration.conftest import free_port, token_text, wait_until
from tests.model_cards import smollm2
from tests.wheels.conftest import WheelVenv, needs_wheel


@needs_wheel("cpu")
async def test_the_cpu_wheel_serves_a_balancer_and_agent_quickstart_from_a_fresh_venv(
    cpu_wheel: WheelVenv,
) -> None:
    inference, management = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    openai, panel = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    quickstart = await asyncio.create_subprocess_exec(
        str(cpu_wheel.python),
        *("-m", "paddler", "quickstart", "--model", str(smollm2())),
        *("--inference-addr", inference, "--management-addr", management),
        *("--compat-openai-addr", openai, "--web-admin-panel-addr", panel),
        *("--slots", "2", "--context-size", "1024", "--threads", "1"),
        cwd=cpu_wheel.scratch,
        env=cpu_wheel.environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert quickstart.stdout is not None
    printed = ""
    try:
        while "Ctrl-C stops everything" not in printed:
            line = await asyncio.wait_for(quickstart.stdout.readline(), 120)
            assert line, printed
            printed += line.decode()
        async with httpx.AsyncClient(timeout=60) as http:

            async def serving() -> bool:
                agents = (await http.get(f"http://{management}/api/v1/agents")).json()["agents"]
                return bool(agents) and agents[0]["state_application_status"] == "Applied"

            await wait_until(serving, what="the wheel's quickstart agent to serve")
            native = await http.post(
                f"http://{inference}/api/v1/continue_from_conversation_history",
                json={"conversation_history": [{"role": "user", "content": "Say hello."}], "max_tokens": 4},
            )
            completion = await http.post(
                f"http://{openai}/v1/chat/completions",
                json={"model": "any", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4},
            )
            page = await http.get(f"http://{panel}/")
    finally:
        quickstart.send_signal(signal.SIGTERM)
        await quickstart.stdout.read()
        code = await asyncio.wait_for(quickstart.wait(), 30)

    assert token_text([orjson.loads(line) for line in native.text.splitlines()]), native.text
    assert completion.status_code == 200, completion.text
    assert completion.json()["choices"][0]["message"]["content"]
    # The built admin panel ships inside the wheel.
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    assert code == 0
