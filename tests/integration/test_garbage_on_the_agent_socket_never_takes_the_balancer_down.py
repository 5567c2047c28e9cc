import orjson
import pytest
import websockets

from tests.integration.conftest import Cluster, chat_prompt, token_text


async def test_garbage_on_the_agent_socket_never_takes_the_balancer_down(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)
    url = f"ws://{cluster.management_addr}/api/v1/agent_socket"

    async with websockets.connect(f"{url}/intruder") as socket:
        await socket.send("not json")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008

    async with websockets.connect(f"{url}/confused") as socket:
        register = {"name": "confused", "desired_slots_total": 1}
        await socket.send(orjson.dumps({"jsonrpc": "2.0", "method": "register_agent", "params": register}))
        for frame in (
            "{",
            "[1, 2, 3]",
            '{"jsonrpc": "2.0", "method": "update_agent_status", "params": {"version": "x"}}',
            '{"jsonrpc": "2.0", "method": "generated_token", "params": {}}',
            '{"jsonrpc": "2.0", "id": "nobody", "result": 1}',
            '{"jsonrpc": "2.0", "method": "no_such_method"}',
        ):
            await socket.send(frame)
        agents = await cluster.wait_for_agents(lambda agents: len(agents) == 2, "the confused agent listed")

    assert {agent["name"] for agent in agents} == {"agent-0", "confused"}
    # The confused agent reported no slots: requests still go to the real one.
    assert token_text(await cluster.raw_prompt_lines(chat_prompt("Say hello."), max_tokens=3))
