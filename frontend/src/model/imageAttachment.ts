// An image attached to a prompt, checked in the browser before anything is
// sent: a file that is not an image, or one too large for the inference
// socket, is refused next to the composer with the reason, not by a closed
// socket or an agent's error after the upload.

import { formatBytes } from "../format";

/** The largest image the panel attaches. */
export const MAX_IMAGE_BYTES = 8_000_000;
/**
 * The most image bytes one conversation carries: every request sends the whole history, images
 * included, as base64 (a third larger) in one socket frame, and the inference socket's default
 * frame limit is 32 MiB.
 */
export const MAX_CONVERSATION_IMAGE_BYTES = 16_000_000;

export interface ImageFormat {
  name: string;
  mediaType: string;
}

// Formats the agent decodes (with Pillow, before the projector) that a browser also shows,
// recognised by their first bytes: a file's name, and so the type the browser gives it, may lie.
const SIGNATURES: { format: ImageFormat; matches: (head: Uint8Array) => boolean }[] = [
  {
    format: { name: "PNG", mediaType: "image/png" },
    matches: (head) => startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  { format: { name: "JPEG", mediaType: "image/jpeg" }, matches: (head) => startsWith(head, [0xff, 0xd8, 0xff]) },
  { format: { name: "GIF", mediaType: "image/gif" }, matches: (head) => startsWith(head, [0x47, 0x49, 0x46, 0x38]) },
  { format: { name: "BMP", mediaType: "image/bmp" }, matches: (head) => startsWith(head, [0x42, 0x4d]) },
  {
    format: { name: "WebP", mediaType: "image/webp" },
    // RIFF, the file's length, then WEBP.
    matches: (head) => startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head.subarray(8), [0x57, 0x45, 0x42, 0x50]),
  },
];

const NAMES = SIGNATURES.map((signature) => signature.format.name);
/** What the composer says it takes: "PNG, JPEG, GIF, BMP or WebP". */
export const ACCEPTED_FORMATS = `${NAMES.slice(0, -1).join(", ")} or ${NAMES[NAMES.length - 1] ?? ""}`;
/** The file picker's `accept`. */
export const ACCEPTED_MEDIA_TYPES = SIGNATURES.map((signature) => signature.format.mediaType).join(",");

function startsWith(head: Uint8Array, signature: number[]): boolean {
  return signature.length <= head.length && signature.every((byte, index) => head[index] === byte);
}

export function sniffImageFormat(head: Uint8Array): ImageFormat | null {
  return SIGNATURES.find((signature) => signature.matches(head))?.format ?? null;
}

export function dataUrlOf(bytes: Uint8Array, mediaType: string): string {
  // btoa takes a binary string; built in pieces, as one call with millions of arguments overflows the stack.
  let binary = "";
  const piece = 0x8000;
  for (let start = 0; start < bytes.length; start += piece) {
    binary += String.fromCharCode(...bytes.subarray(start, start + piece));
  }
  return `data:${mediaType};base64,${btoa(binary)}`;
}

export interface AttachedImage {
  name: string;
  format: string;
  bytes: number;
  dataUrl: string;
}

export type AttachResult = { ok: true; image: AttachedImage } | { ok: false; error: string };

/** Why a file of `size` bytes cannot be attached before it is read, or null. */
export function sizeError(name: string, size: number, conversationImageBytes: number): string | null {
  if (size === 0) return `${name} is empty.`;
  if (size > MAX_IMAGE_BYTES) {
    return `${name} is ${formatBytes(size)}; images up to ${formatBytes(MAX_IMAGE_BYTES)} can be attached.`;
  }
  if (conversationImageBytes + size > MAX_CONVERSATION_IMAGE_BYTES) {
    return (
      `This conversation already carries ${formatBytes(conversationImageBytes)} of images, and every ` +
      `request sends them all (at most ${formatBytes(MAX_CONVERSATION_IMAGE_BYTES)}): clear it to attach ${name}.`
    );
  }
  return null;
}

async function bytesOf(file: Blob): Promise<Uint8Array> {
  if (typeof file.arrayBuffer === "function") return new Uint8Array(await file.arrayBuffer());
  // Blobs without arrayBuffer (older engines, jsdom) still have FileReader.
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsArrayBuffer(file);
  });
}

/** Reads `file` into an attachment, or says why it cannot be one. */
export async function attachImage(file: Blob, name: string, conversationImageBytes = 0): Promise<AttachResult> {
  const tooLarge = sizeError(name, file.size, conversationImageBytes);
  if (tooLarge !== null) return { ok: false, error: tooLarge };
  let bytes: Uint8Array;
  try {
    bytes = await bytesOf(file);
  } catch (error) {
    return { ok: false, error: `${name} could not be read: ${String(error)}` };
  }
  const format = sniffImageFormat(bytes.subarray(0, 16));
  if (format === null) {
    return { ok: false, error: `${name} is not a ${ACCEPTED_FORMATS} image.` };
  }
  return { ok: true, image: { name, format: format.name, bytes: bytes.length, dataUrl: dataUrlOf(bytes, format.mediaType) } };
}
