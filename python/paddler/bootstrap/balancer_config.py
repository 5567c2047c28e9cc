"""Everything `python -m paddler balancer` is configured with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from paddler.balancer.dispatch.request_limits import RequestLimits
from paddler.balancer.http.http_server import TlsFiles


@dataclass(frozen=True, slots=True)
class BalancerConfig:
    inference_addr: str = "127.0.0.1:8061"
    management_addr: str = "127.0.0.1:8060"
    compat_openai_addr: str | None = None
    web_admin_panel_addr: str | None = None
    state_database: str = "memory://"
    max_buffered_requests: int = 30
    buffered_request_timeout_ms: int = 10_000
    inference_item_timeout_ms: int = 30_000
    # On SIGTERM, how long streams in flight may go on before they end with an error.
    shutdown_grace_period_ms: int = 30_000
    inference_cors_allowed_hosts: list[str] = field(default_factory=list)
    management_cors_allowed_hosts: list[str] = field(default_factory=list)
    statsd_addr: str | None = None
    statsd_prefix: str = "paddler_"
    statsd_reporting_interval_ms: int = 10_000
    # Authentication: empty means off (local use).
    inference_api_keys: list[str] = field(default_factory=list)
    management_token: str | None = None
    agent_secret: str | None = None
    request_limits: RequestLimits = field(default_factory=RequestLimits)
    # An OTLP/HTTP collector for request spans; None: no tracing.
    otlp_endpoint: str | None = None
    # Every service over TLS (https, wss) with these files; None: plain http and ws.
    tls: TlsFiles | None = None

    @property
    def http_scheme(self) -> str:
        return "https" if self.tls else "http"

    def unprotected_exposures(self) -> list[str]:
        """What listens beyond this machine without credentials: one warning each."""
        exposures: list[str] = []
        if not is_loopback(self.inference_addr) and not self.inference_api_keys:
            exposures.append(f"the inference API on {self.inference_addr} has no --inference-api-key")
        if (
            self.compat_openai_addr
            and not is_loopback(self.compat_openai_addr)
            and not self.inference_api_keys
        ):
            exposures.append(f"the OpenAI API on {self.compat_openai_addr} has no --inference-api-key")
        if not is_loopback(self.management_addr):
            if not self.management_token:
                exposures.append(f"the management API on {self.management_addr} has no --management-token")
            if not self.agent_secret and not self.management_token:
                # With a token, open_agent_registration says it, on every address.
                exposures.append(f"the agent sockets on {self.management_addr} have no --agent-secret")
        return exposures

    def open_agent_registration(self) -> str | None:
        """A warning when the management API is guarded and the agent socket beside it is not.

        Said on loopback too: an operator who set a token expects the cluster to be
        closed, yet any process that reaches the address may register as an agent
        and receive users' prompts.
        """
        if not self.management_token or self.agent_secret:
            return None
        return (
            f"--management-token is set but --agent-secret is not: anyone who can reach "
            f"{self.management_addr} may register as an agent and receive users' prompts"
        )


def is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
