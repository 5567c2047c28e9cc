"""The Prompt page checks an attachment before anything is sent: a file that is not an image
(whatever its name says) and an image over the limit are refused next to the composer, with the
reason, and nothing goes out on the socket."""

from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.png_images import png_image


async def test_the_prompt_page_refuses_a_file_that_is_not_an_image_or_is_too_large(
    open_panel: OpenPanel,
) -> None:
    panel = await open_panel()
    page = panel.page
    sent: list[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(str(payload))))
    file_input = page.locator("input[name=image]")

    await page.goto(f"{panel.url}/#/prompt")
    await expect(page.get_by_test_id("socket-state")).to_have_text("connected")
    await file_input.set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"these are notes, not pixels"}
    )
    error = page.get_by_test_id("attachment-error")
    await expect(error).to_have_text("notes.png is not a PNG, JPEG, GIF, BMP or WebP image.")
    await expect(page.get_by_test_id("attachment")).to_have_count(0)

    too_large = png_image(8, 8) + bytes(9_000_000)
    await file_input.set_input_files({"name": "huge.png", "mimeType": "image/png", "buffer": too_large})
    await expect(error).to_contain_text("huge.png is 9.0 MB; images up to 8.0 MB can be attached.")
    await expect(page.get_by_test_id("attachment")).to_have_count(0)
    # The limit is said before anyone tries.
    await expect(page.locator(".composer")).to_contain_text("PNG, JPEG, GIF, BMP or WebP, up to 8.0 MB")
    await expect(page.get_by_role("button", name="Send")).to_be_disabled()
    assert sent == []
    await panel.screenshot("prompt-image-refused-before-sending")
