from playwright.async_api import expect

from tests.browser.conftest import OpenPanel


async def test_the_dashboard_shows_the_agent_and_its_slots(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    await panel.cluster.serve_smollm2(agents=1, slots=2)

    await panel.page.goto(panel.url)
    agent = panel.page.get_by_test_id("agent")
    await expect(agent).to_have_count(1)
    await expect(agent.get_by_role("heading", name="agent-0")).to_be_visible()
    await expect(agent.get_by_test_id("status-badge")).to_have_text("Applied")
    await expect(agent.get_by_test_id("slots")).to_contain_text("0 busy / 2 slots")
    await expect(agent.get_by_test_id("model-file")).to_contain_text(".gguf")
    await expect(panel.page.get_by_test_id("buffered-requests")).to_contain_text("0 / 30")
    await expect(panel.page.get_by_test_id("add-agent-command")).to_contain_text(
        f"--management-addr {panel.cluster.management_addr}"
    )
    await panel.screenshot("dashboard")

    await agent.get_by_role("button", name="Model metadata").click()
    await expect(agent.get_by_test_id("metadata-viewer")).to_contain_text("general.architecture")
    await panel.screenshot("dashboard-model-metadata")
    await agent.get_by_role("button", name="Chat template").click()
    await expect(agent.get_by_test_id("chat-template-viewer")).to_contain_text("im_start")
    await panel.screenshot("dashboard-chat-template")
