from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import wait_until


async def test_the_panel_works_under_its_content_security_policy(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    await panel.cluster.serve_smollm2(agents=1, slots=2)
    page = panel.page

    document = await page.goto(panel.url)
    assert document is not None
    headers = await document.all_headers()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    # Every page, and what each one connects to: SSE and fetches to the management API, the
    # inference socket.
    await expect(page.get_by_test_id("agent")).to_have_count(1)
    await page.goto(f"{panel.url}/#/model")
    await expect(page.get_by_label("Temperature")).to_have_value("0")
    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    await page.get_by_label("Max tokens").fill("4")
    await page.get_by_placeholder("Write a message").fill("Hi")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_test_id("assistant-turn")).to_have_attribute("data-status", "done")
    assert panel.csp_violations == []

    # The policy is enforced, and a violation would be seen: a connection anywhere else is blocked.
    blocked = await page.evaluate(
        "fetch('http://127.0.0.1:9/').then(() => 'connected', (error) => 'blocked: ' + error)"
    )
    assert blocked.startswith("blocked")

    async def reported() -> bool:
        return any("connect-src" in violation for violation in panel.csp_violations)

    await wait_until(reported, what="the browser to report the blocked connection")
    panel.csp_violations.clear()
