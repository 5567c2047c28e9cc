import pytest
from websockets.frames import Frame, Opcode

from paddler.balancer.http.websocket_protocol import _text_frame_header


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65_535, 65_536, 1 << 20])
def test_a_batched_text_frame_is_byte_for_byte_what_websockets_would_send(length: int) -> None:
    payload = b"x" * length

    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])

    assert _text_frame_header(length) + payload == expected
