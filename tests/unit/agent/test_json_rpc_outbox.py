import asyncio

import orjson

from paddler.agent.json_rpc_outbox import JsonRpcOutbox


async def test_messages_that_pile_up_leave_as_one_batch_frame_and_a_lone_one_alone() -> None:
    outbox = JsonRpcOutbox()
    frames: list[object] = []

    async def send_text(frame: str) -> None:
        frames.append(orjson.loads(frame))

    writer = asyncio.create_task(outbox.write_loop(send_text))
    for number in range(3):
        outbox.send({"jsonrpc": "2.0", "method": "generated_token", "params": {"n": number}})
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    outbox.send({"jsonrpc": "2.0", "method": "update_agent_status", "params": {}})
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    writer.cancel()

    assert isinstance(frames[0], list)
    assert [message["params"]["n"] for message in frames[0]] == [0, 1, 2]
    assert frames[1] == {"jsonrpc": "2.0", "method": "update_agent_status", "params": {}}


async def test_flushed_waits_until_what_was_queued_before_it_is_written() -> None:
    outbox = JsonRpcOutbox()
    written: list[object] = []
    let_through = asyncio.Event()

    async def slow_send_text(frame: str) -> None:
        await let_through.wait()
        written.append(orjson.loads(frame))

    writer = asyncio.create_task(outbox.write_loop(slow_send_text))
    outbox.send({"jsonrpc": "2.0", "method": "embedding", "params": {"n": 0}})
    flushed = asyncio.create_task(outbox.flushed())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not flushed.done()
    # A message queued afterwards is not waited for.
    outbox.send({"jsonrpc": "2.0", "method": "embedding", "params": {"n": 1}})
    let_through.set()
    await asyncio.wait_for(flushed, 1.0)
    writer.cancel()

    assert written[0] == {"jsonrpc": "2.0", "method": "embedding", "params": {"n": 0}}
