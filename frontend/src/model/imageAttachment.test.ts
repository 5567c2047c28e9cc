import { describe, expect, it } from "vitest";

import {
  MAX_CONVERSATION_IMAGE_BYTES,
  MAX_IMAGE_BYTES,
  attachImage,
  dataUrlOf,
  sniffImageFormat,
} from "./imageAttachment";

// A 1x1 PNG.
const PIXEL_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PIXEL = Uint8Array.from(atob(PIXEL_BASE64), (char) => char.charCodeAt(0));

describe("sniffImageFormat", () => {
  it.each([
    ["PNG", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]],
    ["JPEG", [0xff, 0xd8, 0xff, 0xe0]],
    ["GIF", [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]],
    ["BMP", [0x42, 0x4d, 0x3a, 0]],
    ["WebP", [...new TextEncoder().encode("RIFF"), 0x24, 0, 0, 0, ...new TextEncoder().encode("WEBPVP8 ")]],
  ])("recognises %s by its first bytes", (name, head) => {
    expect(sniffImageFormat(Uint8Array.from(head))?.name).toBe(name);
  });

  it("recognises nothing else: another RIFF file, text, a cut signature", () => {
    expect(sniffImageFormat(new TextEncoder().encode("RIFF\u0024\u0000\u0000\u0000WAVEfmt "))).toBeNull();
    expect(sniffImageFormat(new TextEncoder().encode("hello, not an image"))).toBeNull();
    expect(sniffImageFormat(Uint8Array.from([0x89, 0x50]))).toBeNull();
  });
});

describe("attachImage", () => {
  it("reads a PNG into the data URL the request carries", async () => {
    const result = await attachImage(new Blob([PIXEL]), "pixel.png");
    expect(result).toEqual({
      ok: true,
      image: { name: "pixel.png", format: "PNG", bytes: PIXEL.length, dataUrl: `data:image/png;base64,${PIXEL_BASE64}` },
    });
  });

  it("takes the media type from the bytes, not from the name or the browser's type", async () => {
    const result = await attachImage(new File([PIXEL], "photo.jpg", { type: "image/jpeg" }), "photo.jpg");
    expect(result.ok && result.image.dataUrl.startsWith("data:image/png;base64,")).toBe(true);
  });

  it("refuses a file that is not an image, naming the formats it takes", async () => {
    const result = await attachImage(new File(["just text"], "notes.png", { type: "image/png" }), "notes.png");
    expect(result).toEqual({ ok: false, error: "notes.png is not a PNG, JPEG, GIF, BMP or WebP image." });
  });

  it("refuses an image over the limit before reading it, naming the limit", async () => {
    const big = new Uint8Array(MAX_IMAGE_BYTES + 1_000_000);
    big.set(PIXEL);
    const result = await attachImage(new Blob([big]), "big.png");
    expect(result).toEqual({ ok: false, error: "big.png is 9.0 MB; images up to 8.0 MB can be attached." });
  });

  it("takes an image of exactly the limit", async () => {
    const limit = new Uint8Array(MAX_IMAGE_BYTES);
    limit.set(PIXEL);
    const result = await attachImage(new Blob([limit]), "limit.png");
    expect(result.ok && result.image.bytes).toBe(MAX_IMAGE_BYTES);
  });

  it("refuses an empty file", async () => {
    expect(await attachImage(new Blob([]), "empty.png")).toEqual({ ok: false, error: "empty.png is empty." });
  });

  it("refuses an image that would take the conversation's images past their limit", async () => {
    const result = await attachImage(new Blob([PIXEL]), "pixel.png", MAX_CONVERSATION_IMAGE_BYTES);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/already carries 16\.0 MB of images.*clear it to attach pixel\.png/);
  });
});

describe("dataUrlOf", () => {
  it("encodes more bytes than one call of String.fromCharCode takes", () => {
    const bytes = new Uint8Array(100_000).map((_, index) => index % 251);
    const url = dataUrlOf(bytes, "image/png");
    const decoded = Uint8Array.from(atob(url.slice("data:image/png;base64,".length)), (char) => char.charCodeAt(0));
    expect(decoded).toEqual(bytes);
  });
});
