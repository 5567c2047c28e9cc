import httpx
from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import Cluster, smollm2_state
from tests.integration.tls_certificates import make_tls_certificates


async def test_the_panel_over_tls_calls_the_apis_over_https_and_wss(
    cluster: Cluster, open_panel: OpenPanel
) -> None:
    tls = make_tls_certificates(cluster.tmp_path)
    cluster.scheme = "https"
    cluster.http = httpx.AsyncClient(verify=tls.trusting_context(), timeout=30.0)
    try:
        panel = await open_panel(*tls.balancer_flags())
        assert panel.url.startswith("https://")
        await cluster.put_state(smollm2_state())
        wss = f"wss://{cluster.management_addr}"
        cluster.start_agent("agent-0", 2, extra=("--management-addr", wss, "--tls-ca", str(tls.ca)))
        await cluster.wait_for_serving_agents(1)
        page = panel.page
        sockets: list[str] = []
        page.on("websocket", lambda socket: sockets.append(socket.url))

        # The dashboard's agents come over the management API's SSE stream, over https.
        await page.goto(panel.url)
        await expect(page.get_by_test_id("agent")).to_have_count(1)
        await expect(page.get_by_test_id("add-agent-command")).to_contain_text(f"--management-addr {wss}")
        await page.goto(f"{panel.url}/#/prompt")
        await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
        await page.get_by_label("Max tokens").fill("4")
        await page.get_by_placeholder("Write a message").fill("Hi")
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_test_id("assistant-turn")).to_have_attribute("data-status", "done")
        assert sockets == [f"wss://{cluster.inference_addr}/api/v1/inference_socket"]
        await panel.screenshot("prompt-over-tls")
    finally:
        await cluster.http.aclose()
