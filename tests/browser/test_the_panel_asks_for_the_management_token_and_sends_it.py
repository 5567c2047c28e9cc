from playwright.async_api import expect

from tests.browser.conftest import OpenPanel

TOKEN = "panel-test-token"


async def test_the_panel_asks_for_the_management_token_and_sends_it(open_panel: OpenPanel) -> None:
    panel = await open_panel("--management-token", TOKEN)
    page = panel.page

    await page.goto(panel.url)
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Management token needed")
    await panel.screenshot("token-dialog")

    await dialog.get_by_placeholder("the value of --management-token").fill(TOKEN)
    await dialog.get_by_role("button", name="Use this token").click()
    await expect(dialog).to_have_count(0)
    # The streams now pass: an empty cluster says what to do next.
    await expect(page.get_by_test_id("empty-cluster")).to_contain_text("No agents are connected")
    await expect(page.get_by_test_id("no-model")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('paddler.managementToken')") == TOKEN
    await panel.screenshot("dashboard-empty-cluster")
