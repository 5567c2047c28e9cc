"""A client that sends requests on the inference socket and never reads what comes back: the
balancer must not queue its frames without bound. Past --max-websocket-unsent-bytes its socket is
closed with 1008 and a reason, its requests stop on the agent, and their slots come back."""

import asyncio
import base64
import os
import socket
import ssl
import struct

import httpx
import orjson
import pytest

from tests.integration.conftest import Cluster, chat_prompt, smollm2_state
from tests.integration.tls_certificates import make_tls_certificates

UNSENT_LIMIT = 1024 * 1024
# Error answers echo the request id: a long one makes every answer large, fast.
LONG_ID = "x" * (256 * 1024)
FLOOD_FRAMES = 40


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    return header + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


def connect_without_reading(address: str, tls: ssl.SSLContext | None) -> socket.socket:
    """A WebSocket whose client reads nothing after the handshake, with a tiny receive window."""
    host, port = address.rsplit(":", 1)
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    if tls is not None:
        client = tls.wrap_socket(client, server_hostname=host)
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(
        f"GET /api/v1/inference_socket HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += client.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return client


def read_frames_until_close(client: socket.socket) -> tuple[list[bytes], int, str]:
    """Reads the server's frames (unmasked) up to its close frame: (text frames, code, reason)."""
    buffer = bytearray()
    texts: list[bytes] = []

    def take(count: int) -> bytes:
        while len(buffer) < count:
            chunk = client.recv(1 << 20)
            assert chunk, "the connection ended without a close frame"
            buffer.extend(chunk)
        taken = bytes(buffer[:count])
        del buffer[:count]
        return taken

    while True:
        first, second = take(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", take(8))
        payload = take(length)
        opcode = first & 0x0F
        if opcode == 0x8:
            (code,) = struct.unpack("!H", payload[:2])
            return texts, code, payload[2:].decode()
        if opcode == 0x1:
            texts.append(payload)


# Over TLS what piles up is encrypted, in the TLS layer above the socket: bounded the same way.
@pytest.mark.parametrize("over_tls", [False, True], ids=["ws", "wss"])
async def test_an_inference_socket_client_that_never_reads_is_closed_and_its_slots_freed(
    cluster: Cluster, over_tls: bool
) -> None:
    flags: tuple[str, ...] = ("--max-websocket-unsent-bytes", str(UNSENT_LIMIT))
    agent_flags: tuple[str, ...] = ()
    trusted = None
    if over_tls:
        tls = make_tls_certificates(cluster.tmp_path)
        trusted = tls.trusting_context()
        await cluster.http.aclose()
        cluster.scheme = "https"
        cluster.http = httpx.AsyncClient(verify=trusted, timeout=30.0)
        flags += tls.balancer_flags()
        agent_flags = ("--management-addr", f"wss://{cluster.management_addr}", "--tls-ca", str(tls.ca))
    balancer = await cluster.start_balancer(*flags)
    await cluster.put_state(smollm2_state())
    cluster.start_agent("agent-0", 2, extra=agent_flags)
    await cluster.wait_for_serving_agents(1)
    client = await asyncio.to_thread(connect_without_reading, cluster.inference_addr, trusted)
    try:
        for number in range(2):
            params = {"raw_prompt": chat_prompt("Count to a thousand."), "max_tokens": 1000}
            request = {"Request": {"id": f"long-{number}", "request": {"ContinueFromRawPrompt": params}}}
            client.sendall(masked_text_frame(orjson.dumps(request)))
        await cluster.wait_for_agents(
            lambda agents: agents[0]["slots_processing"] == 2, "both requests generating"
        )

        # Requests the balancer answers at once, with errors as large as their ids, never read.
        for number in range(FLOOD_FRAMES):
            flood = {"Request": {"id": f"{LONG_ID}{number}", "request": {"Sing": {}}}}
            await asyncio.to_thread(client.sendall, masked_text_frame(orjson.dumps(flood)))

        # Stopped on the agent, long before a thousand tokens.
        await cluster.wait_for_agents(
            lambda agents: agents[0]["slots_processing"] == 0, "the slots to come back", timeout_s=5.0
        )
        texts, code, reason = await asyncio.to_thread(read_frames_until_close, client)
    finally:
        client.close()

    assert code == 1008
    assert "the client does not read" in reason
    assert "--max-websocket-unsent-bytes" in reason
    # What it was sent before the close: tokens of both requests and errors, never their end.
    assert any(b'"long-0"' in text for text in texts)
    assert not any(b"Done" in text for text in texts)
    assert "the client does not read" in balancer.output()
    await cluster.assert_agents_alive_and_serving()
    if over_tls:
        await cluster.http.aclose()
