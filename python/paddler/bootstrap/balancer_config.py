"""Everything `python -m paddler balancer` is configured with."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    inference_cors_allowed_hosts: list[str] = field(default_factory=list)
    management_cors_allowed_hosts: list[str] = field(default_factory=list)
    statsd_addr: str | None = None
    statsd_prefix: str = "paddler_"
    statsd_reporting_interval_ms: int = 10_000
