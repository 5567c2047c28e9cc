"""The web admin panel in Debian's headless Chromium, driven by Playwright,
against a real balancer and agent (tests/integration/conftest.py's cluster).

Screenshots of every page go to test-output/web_admin_panel/ for a person to
look at. Locally these tests skip when /usr/bin/chromium is absent; in CI
(.ci/run installs it) they must run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from paddler.balancer.panel.web_admin_panel_service import PANEL_FILES
from tests.integration.conftest import Cluster, cluster, etcd, free_port

if TYPE_CHECKING:
    from playwright.async_api import Page

__all__ = ["Panel", "cluster", "etcd", "open_panel"]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-output" / "web_admin_panel"
# Headless and quiet: no sandbox (CI runs as root), and none of Chromium's own
# network traffic, which this machine's closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: two cores shared with model inference.
TIMEOUT_MS = 30_000


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install '.[test]')")
    if not (PANEL_FILES / "index.html").is_file():
        missing.append("the built panel (cd frontend && npm ci && npm run build)")
    if missing:
        reason = "the browser tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass
class Panel:
    """A balancer serving the panel, and a Chromium page to use it with."""

    cluster: Cluster
    url: str
    page: Page
    # What the panel's Content-Security-Policy blocked (the browser's console
    # messages); every test ends with none.
    csp_violations: list[str] = field(default_factory=list)

    async def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


OpenPanel = Callable[..., Awaitable[Panel]]


@pytest.fixture
async def open_panel(cluster: Cluster) -> AsyncIterator[OpenPanel]:
    """`await open_panel(*balancer_flags)`: starts the balancer with the panel and a browser page."""
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )

        panels: list[Panel] = []

        async def start(*flags: str) -> Panel:
            address = f"127.0.0.1:{free_port()}"
            await cluster.start_balancer("--web-admin-panel-addr", address, *flags)
            # A balancer with --tls-cert (the cluster's scheme is then https) has a certificate
            # of a CA made for the test, which this browser cannot be told to trust.
            tls = cluster.scheme == "https"
            context = await browser.new_context(
                viewport={"width": 1280, "height": 860}, ignore_https_errors=tls
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = await context.new_page()
            panel = Panel(cluster, f"{cluster.scheme}://{address}", page)
            page.on(
                "console",
                lambda message: (
                    panel.csp_violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            panels.append(panel)
            return panel

        try:
            yield start
            for panel in panels:
                assert not panel.csp_violations, panel.csp_violations
        finally:
            await browser.close()
