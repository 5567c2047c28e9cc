import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from tests.integration.conftest import Cluster


def recording_server() -> tuple[ThreadingHTTPServer, list[str]]:
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, requests


async def test_a_tool_schema_ref_to_a_url_or_file_is_refused_and_nothing_is_fetched(cluster: Cluster) -> None:
    server, fetched = recording_server()
    url = f"http://127.0.0.1:{server.server_address[1]}/schema.json"
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=1)
    try:
        for reference in (url, "file:///dev/zero"):
            # Under `not`, a $ref passes llama.cpp's grammar conversion.
            parameters = {"type": "object", "properties": {"city": {"not": {"$ref": reference}}}}
            body = {
                "add_generation_prompt": True,
                "conversation_history": [{"role": "user", "content": "Weather in Paris?"}],
                "enable_thinking": False,
                "max_tokens": 16,
                "tools": [{"type": "function", "function": {"name": "weather", "parameters": parameters}}],
            }
            response = await cluster.http.post(
                f"{cluster.inference_url}/api/v1/continue_from_conversation_history", json=body
            )

            assert response.status_code == 200, response.text
            last = orjson.loads(response.text.splitlines()[-1])
            outcome = last["Response"]["response"]["GeneratedToken"]
            assert "ToolSchemaInvalid" in outcome, outcome
            assert f"$ref {reference!r} does not resolve" in outcome["ToolSchemaInvalid"]
        assert fetched == []
        await cluster.assert_agents_alive_and_serving()
    finally:
        server.shutdown()
        server.server_close()
