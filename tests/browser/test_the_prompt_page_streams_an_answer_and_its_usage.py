from playwright.async_api import expect

from tests.browser.conftest import OpenPanel


async def test_the_prompt_page_streams_an_answer_and_its_usage(open_panel: OpenPanel) -> None:
    panel = await open_panel()
    await panel.cluster.serve_smollm2(agents=1, slots=2)
    page = panel.page
    # Every socket message the page receives, to see that the answer came in pieces.
    frames: list[str] = []
    page.on(
        "websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload)))
    )

    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    await page.get_by_label("Max tokens").fill("24")
    await page.get_by_placeholder("Write a message").fill("What is the capital of France?")
    await page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("assistant-turn")
    await expect(answer.get_by_test_id("usage")).to_contain_text("prompt tokens")
    await expect(answer).to_have_attribute("data-status", "done")
    content = await answer.get_by_test_id("assistant-content").inner_text()
    assert content.strip()
    assert sum("ContentToken" in frame for frame in frames) > 1
    await expect(answer.get_by_test_id("usage")).to_contain_text("content tokens")
    await panel.screenshot("prompt")
