"""HTTP plumbing every service shares: the server, its WebSocket protocol, bodies,
authentication, server-sent events, trace context, OpenAPI documents."""
