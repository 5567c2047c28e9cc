"""With a multimodal projection (a random-weight projector for SmolLM2, tests/random_projector.py),
an image attached on the Prompt page is answered: the answer completes and its usage counts the
image's tokens."""

from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.integration.conftest import smollm2_state
from tests.png_images import png_image
from tests.random_projector import IMAGE_TOKENS


async def test_the_prompt_page_gets_an_answer_to_an_image_from_a_model_with_a_projection(
    open_panel: OpenPanel, random_projector: Path
) -> None:
    panel = await open_panel()
    cluster = panel.cluster
    await cluster.put_state(
        {**smollm2_state(), "multimodal_projection": {"LocalToAgent": str(random_projector)}}
    )
    cluster.start_agent("agent-0", slots=1)
    await cluster.wait_for_serving_agents(1)
    page = panel.page

    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    await page.get_by_label("Max tokens").fill("8")
    await page.locator("input[name=image]").set_input_files(
        {"name": "gradient.png", "mimeType": "image/png", "buffer": png_image(64, 64, seed=4)}
    )
    await expect(page.get_by_test_id("attachment")).to_contain_text("gradient.png")
    await page.get_by_placeholder("Write a message").fill("What is in this picture?")
    await page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("assistant-turn")
    await expect(answer).to_have_attribute("data-status", "done")
    await expect(answer.get_by_test_id("usage")).to_contain_text(f"{IMAGE_TOKENS} image tokens")
    await panel.screenshot("prompt-image-answered")
