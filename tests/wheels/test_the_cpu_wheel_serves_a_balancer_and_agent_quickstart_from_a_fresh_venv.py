import httpx
import orjson

from tests.integration.conftest import free_port, token_text
from tests.integration.quickstart_process import quickstart_process
from tests.model_cards import smollm2
from tests.wheels.conftest import WheelVenv, needs_wheel


@needs_wheel("cpu")
async def test_the_cpu_wheel_serves_a_balancer_and_agent_quickstart_from_a_fresh_venv(
    cpu_wheel: WheelVenv,
) -> None:
    inference, management = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    openai, panel = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    async with (
        quickstart_process(
            str(cpu_wheel.python),
            management,
            *("--model", str(smollm2()), "--inference-addr", inference),
            *("--compat-openai-addr", openai, "--web-admin-panel-addr", panel),
            *("--slots", "2", "--context-size", "1024", "--threads", "1"),
            cwd=cpu_wheel.scratch,
            env=cpu_wheel.environment(),
        ) as quickstart,
        httpx.AsyncClient(timeout=60) as http,
    ):
        native = await http.post(
            f"http://{inference}/api/v1/continue_from_conversation_history",
            json={"conversation_history": [{"role": "user", "content": "Say hello."}], "max_tokens": 4},
        )
        completion = await http.post(
            f"http://{openai}/v1/chat/completions",
            json={"model": "any", "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4},
        )
        page = await http.get(f"http://{panel}/")

    assert token_text([orjson.loads(line) for line in native.text.splitlines()]), native.text
    assert completion.status_code == 200, completion.text
    assert completion.json()["choices"][0]["message"]["content"]
    # The built admin panel ships inside the wheel.
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    assert quickstart.exit_code == 0
