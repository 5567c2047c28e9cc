import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.conftest import Cluster, chat_prompt, smollm2_state, wait_until

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
# Spans leave in batches; a short delay keeps the test short.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


class CollectorStub:
    """An OTLP/HTTP collector on loopback that keeps every span it receives."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                stub.record(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def record(self, path: str, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = next(
                attribute.value.string_value
                for attribute in resource_spans.resource.attributes
                if attribute.key == "service.name"
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "path": path,
                            "service": service,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                        }
                    )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[CollectorStub]:
    stub = CollectorStub()
    yield stub
    stub.close()


async def test_request_spans_reach_an_otlp_collector_with_linked_ids(
    cluster: Cluster, collector: CollectorStub
) -> None:
    await cluster.start_balancer("--otlp-endpoint", collector.url, env=FAST_EXPORT)
    await cluster.put_state(smollm2_state())
    cluster.start_agent("agent-0", 1, env=FAST_EXPORT, extra=("--otlp-endpoint", collector.url))
    await cluster.wait_for_serving_agents(1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": chat_prompt("Hi."), "max_tokens": 2},
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    assert response.status_code == 200
    balancer_span_id = response.headers["traceparent"].split("-")[2]

    async def both_spans() -> list[dict[str, Any]] | None:
        ours = [span for span in collector.spans if span["trace_id"] == CALLER_TRACE]
        return ours if {span["service"] for span in ours} == {"paddler-balancer", "paddler-agent"} else None

    spans = await wait_until(both_spans, timeout_s=10, what="the balancer's and the agent's spans")
    by_service = {span["service"]: span for span in spans}
    assert all(span["path"] == "/v1/traces" for span in spans)
    # The balancer's span is the one named in the traceparent it returned, a child of the caller's;
    # the agent's span is a child of the balancer's.
    assert by_service["paddler-balancer"]["span_id"] == balancer_span_id
    assert by_service["paddler-balancer"]["parent_span_id"] == CALLER_SPAN
    assert by_service["paddler-agent"]["parent_span_id"] == balancer_span_id
