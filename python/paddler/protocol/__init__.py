"""Wire types of Paddler's public APIs and of the agent socket.

Thin on purpose: shapes and their validation only, importing nothing else
from paddler, so the balancer, the agent and clients can all depend on it.
Enums are externally tagged (serde style) to stay compatible with Paddler
v4.1 and its official client.
"""
