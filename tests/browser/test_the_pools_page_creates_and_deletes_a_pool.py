from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import wait_until


async def test_the_pools_page_creates_and_deletes_a_pool(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    cluster = panel.cluster
    page = panel.page
    pools_url = f"{cluster.management_url}/api/v1/pools"

    await page.goto(f"{panel.url}/#/pools")
    rows = page.get_by_test_id("pool-row")
    default = rows.and_(page.locator("[data-pool='default']"))
    await expect(default).to_be_visible()
    # The default pool is the Model page's desired state: it cannot be deleted.
    await expect(default.get_by_role("button", name="Delete")).to_have_count(0)

    await page.get_by_role("button", name="New pool").click()
    editor = page.get_by_role("form", name="New pool")
    await editor.locator("input[name='pool-name']").fill("other")
    await editor.locator("input[name='pool-aliases']").fill("other-alias, second")
    await editor.locator("input[name='pool-maxAgents']").fill("2")
    await editor.locator("input[name='model-local-path']").fill("/models/other.gguf")
    await editor.get_by_role("button", name="Create pool").click()
    await expect(page.get_by_test_id("pools-notice")).to_contain_text("Created the pool other")

    other = rows.and_(page.locator("[data-pool='other']"))
    await expect(other).to_contain_text("other-alias")
    await expect(other).to_contain_text("0 to 2")
    await expect(other).to_contain_text("other.gguf")
    stored = (await cluster.http.get(f"{pools_url}/other")).json()
    assert stored["aliases"] == ["other-alias", "second"]
    assert stored["max_agents"] == 2
    assert stored["max_concurrency"] is None
    assert stored["desired_state"]["model"] == {"LocalToAgent": "/models/other.gguf"}
    await panel.screenshot("pools")

    # An alias taken by another pool: the balancer's reason is shown.
    await page.get_by_role("button", name="New pool").click()
    await editor.locator("input[name='pool-name']").fill("third")
    await editor.locator("input[name='pool-aliases']").fill("other-alias")
    await editor.locator("input[name='model-local-path']").fill("/models/third.gguf")
    await editor.get_by_role("button", name="Create pool").click()
    await expect(page.get_by_test_id("pool-save-error")).to_contain_text("other-alias")
    await editor.get_by_role("button", name="Cancel").click()

    await other.get_by_role("button", name="Delete").click()
    await other.get_by_role("button", name="Yes, delete").click()
    # With no requests to drain the pool goes at once; the page's next poll drops it.
    await expect(other).to_have_count(0)
    await expect(default).to_be_visible()

    async def gone() -> bool:
        names = [pool["name"] for pool in (await cluster.http.get(pools_url)).json()["pools"]]
        return "other" not in names

    await wait_until(gone, what="the pool to leave the balancer's list")
