"""Gives every HTTP request a trace (the caller's, continued, or a new one) and
returns its `traceparent` in the response headers."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paddler.balancer.dispatch.trace_context import continue_trace, current_trace


class TraceContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                incoming = value.decode("latin-1")
                break
        trace = continue_trace(incoming)
        header = (b"traceparent", trace.traceparent.encode())

        async def send_with_traceparent(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        # The endpoint runs in this task (and its streaming body in tasks that
        # copy this context): the relay finds the trace there.
        token = current_trace.set(trace)
        try:
            await self.app(scope, receive, send_with_traceparent)
        finally:
            current_trace.reset(token)
