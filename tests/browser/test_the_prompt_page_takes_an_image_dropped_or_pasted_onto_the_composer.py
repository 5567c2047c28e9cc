"""Besides the file picker, an image dropped onto the composer or pasted into the message box
is attached, shown as a thumbnail, as one chosen with the file picker."""

import base64

from playwright.async_api import expect

from tests.browser.conftest import OpenPanel
from tests.png_images import png_image

# Builds a DataTransfer holding the PNG and fires `kind` with it at the element.
FIRE = """([element, kind, base64Png, name]) => {
    const bytes = Uint8Array.from(atob(base64Png), (char) => char.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type: "image/png" }));
    const event = kind === "paste"
        ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
        : new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true });
    element.dispatchEvent(event);
}"""


async def test_the_prompt_page_takes_an_image_dropped_or_pasted_onto_the_composer(
    open_panel: OpenPanel,
) -> None:
    panel = await open_panel()
    page = panel.page
    message = page.get_by_placeholder("Write a message")
    attachment = page.get_by_test_id("attachment")

    await page.goto(f"{panel.url}/#/prompt")
    dropped = base64.b64encode(png_image(32, 32, seed=2)).decode()
    composer = await page.locator(".composer").element_handle()
    await page.evaluate(FIRE, [composer, "dragover", dropped, "dropped.png"])
    await page.evaluate(FIRE, [composer, "drop", dropped, "dropped.png"])
    await expect(attachment).to_contain_text("dropped.png")

    await page.get_by_role("button", name="Remove the image").click()
    await expect(attachment).to_have_count(0)
    pasted = base64.b64encode(png_image(32, 32, seed=3)).decode()
    await page.evaluate(FIRE, [await message.element_handle(), "paste", pasted, "image.png"])
    await expect(attachment).to_contain_text("image.png")
    await expect(message).to_have_value("")
    await panel.screenshot("prompt-image-attached")
