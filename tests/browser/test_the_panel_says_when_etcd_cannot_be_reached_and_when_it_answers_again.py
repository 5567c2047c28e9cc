from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.ha_cluster import Etcd, needs_etcd


@needs_etcd
async def test_the_panel_says_when_etcd_cannot_be_reached_and_when_it_answers_again(
    open_panel: OpenPanel, etcd: Etcd
) -> None:
    panel = await open_panel("--state-database", f"etcd://{etcd.endpoint}/paddler-panel")
    banner = panel.page.get_by_test_id("state-database-unreachable")
    await panel.page.goto(panel.url)
    await expect(panel.page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(banner).to_have_count(0)

    etcd.stop()

    await expect(banner).to_contain_text("The state database (etcd) cannot be reached.")
    await expect(banner).to_contain_text(etcd.endpoint)
    await panel.screenshot("etcd-unreachable")

    await etcd.start()

    await expect(banner).to_have_count(0)
