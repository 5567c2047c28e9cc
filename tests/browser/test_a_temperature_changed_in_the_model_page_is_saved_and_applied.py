from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import wait_until


async def test_a_temperature_changed_in_the_model_page_is_saved_and_applied(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    cluster = panel.cluster
    await cluster.serve_smollm2(agents=1, slots=2)
    page = panel.page

    await page.goto(f"{panel.url}/#/model")
    temperature = page.get_by_label("Temperature")
    await expect(temperature).to_have_value("0")
    await temperature.fill("-2")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("validation-summary")).to_be_visible()
    await panel.screenshot("model-validation")

    await temperature.fill("0.7")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("save-status")).to_contain_text("Saved")

    desired = (await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_desired_state")).json()
    assert desired["inference_parameters"]["temperature"] == 0.7
    # The rest of the state went back as it was.
    assert desired["model"] == {"LocalToAgent": desired["model"]["LocalToAgent"]}
    assert desired["inference_parameters"]["context_size"] == 1024

    async def applied() -> bool:
        response = await cluster.http.get(f"{cluster.management_url}/api/v1/balancer_applicable_state")
        state = response.json()
        return state is not None and state["inference_parameters"]["temperature"] == 0.7

    await wait_until(applied, what="the new temperature to be pushed to the agents")
    await cluster.wait_for_serving_agents(1)
    row = page.get_by_test_id("reconciliation-agent")
    await expect(row.get_by_test_id("status-badge")).to_have_text("Applied")
    await expect(page.get_by_test_id("reconciliation")).to_contain_text("1 of 1 applied")
    await panel.screenshot("model")
