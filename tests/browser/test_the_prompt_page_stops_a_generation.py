import re

from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import wait_until


async def test_the_prompt_page_stops_a_generation(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    cluster = panel.cluster
    await cluster.serve_smollm2(agents=1, slots=1)
    page = panel.page

    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    await page.get_by_label("Max tokens").fill("4000")
    await page.get_by_placeholder("Write a message").fill(
        "Write a very long story about a lighthouse keeper."
    )
    await page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("assistant-turn")
    # A few words have streamed in: the generation is under way.
    await expect(answer.get_by_test_id("assistant-content")).to_have_text(re.compile(r"\w+\W+\w+\W+\w+"))
    await page.get_by_role("button", name="Stop").click()
    await expect(answer.get_by_test_id("stopped")).to_be_visible()
    await expect(answer.get_by_test_id("usage")).to_have_count(0)
    await expect(page.get_by_role("button", name="Send")).to_be_visible()

    async def slot_freed() -> bool:
        agents = await cluster.agents_snapshot()
        return bool(agents[0]["slots_processing"] == 0)

    await wait_until(slot_freed, what="the agent to free the stopped request's slot")
    stopped_text = await answer.get_by_test_id("assistant-content").inner_text()
    await page.wait_for_timeout(500)
    # Nothing more arrives for a stopped answer.
    assert await answer.get_by_test_id("assistant-content").inner_text() == stopped_text
    await panel.screenshot("prompt-stopped")
