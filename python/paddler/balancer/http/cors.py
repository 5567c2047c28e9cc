"""CORS for the browser origins a service allows (the web admin panel's among them)."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware


def cors_middleware(allowed_hosts: list[str]) -> list[Middleware]:
    """None without allowed origins. Put it outermost: 401 answers need its headers too, or a
    browser cannot read them."""
    if not allowed_hosts:
        return []
    return [Middleware(CORSMiddleware, allow_origins=allowed_hosts, allow_methods=["*"], allow_headers=["*"])]
