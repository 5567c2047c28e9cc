"""The Prompt page sends an attached image as an image_url part next to the text, and shows
the agent's answer to it as it shows any error: SmolLM2 has no multimodal projection, so the
agent answers MultimodalNotSupported."""

from typing import Any

import orjson
from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.png_images import png_data_url, png_image


async def test_the_prompt_page_sends_an_attached_image_and_shows_that_a_text_model_refuses_it(
    open_panel: OpenPanel,
) -> None:
    panel = await open_panel()
    await panel.cluster.serve_smollm2(agents=1, slots=1)
    page = panel.page
    sent: list[dict[str, Any]] = []
    page.on(
        "websocket",
        lambda socket: socket.on("framesent", lambda payload: sent.append(orjson.loads(payload))),
    )
    image = png_image(64, 48, seed=1)

    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    async with page.expect_file_chooser() as chooser:
        await page.get_by_role("button", name="Attach image").click()
    await (await chooser.value).set_files({"name": "gradient.png", "mimeType": "image/png", "buffer": image})
    await expect(page.get_by_test_id("attachment")).to_contain_text("gradient.png")
    await page.get_by_placeholder("Write a message").fill("What is in this picture?")
    await page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("assistant-turn")
    await expect(answer).to_have_attribute("data-status", "error")
    await expect(answer.get_by_test_id("turn-error")).to_contain_text("MultimodalNotSupported")
    await expect(page.get_by_test_id("user-image")).to_have_attribute("src", png_data_url(image))
    # The composer is empty again, its attachment gone with the message.
    await expect(page.get_by_test_id("attachment")).to_have_count(0)

    [request] = [frame["Request"] for frame in sent if "Request" in frame]
    history = request["request"]["ContinueFromConversationHistory"]["conversation_history"]
    assert history == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": png_data_url(image)}},
            ],
        }
    ]
    await panel.screenshot("prompt-image-refused")
