"""The management service: agents, desired state, metrics and the agent sockets."""
