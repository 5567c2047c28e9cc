import { describe, expect, it } from "vitest";

import { requestMessage } from "../api/inferenceSocket";
import shapes from "../api/serverShapes.json";
import type { Usage } from "../api/types";
import type { AttachedImage } from "./imageAttachment";
import { applyEvent, conversationImageBytes, conversationOf, userContent, type Turn } from "./promptConversation";

const PIXEL: AttachedImage = {
  name: "pixel.png",
  format: "PNG",
  bytes: 70,
  dataUrl: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
};

function user(content: string, image: AttachedImage | null = null, id = "u"): Turn {
  return { id, role: "user", content, image, reasoning: "", status: "done", error: null, usage: null };
}

function assistant(content: string, status: Turn["status"], id = "a"): Turn {
  return { id, role: "assistant", content, image: null, reasoning: "", status, error: null, usage: null };
}

describe("userContent", () => {
  it("is the text alone without an image", () => {
    expect(userContent("Hello", null)).toBe("Hello");
  });

  it("is a text part and an image_url part with an image", () => {
    expect(userContent("What is this?", PIXEL)).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: PIXEL.dataUrl } },
    ]);
  });

  it("is the image part alone when there is no text", () => {
    expect(userContent("", PIXEL)).toEqual([{ type: "image_url", image_url: { url: PIXEL.dataUrl } }]);
  });
});

describe("conversationOf", () => {
  it("builds exactly the image request the balancer's protocol accepts", () => {
    const params = {
      add_generation_prompt: true,
      conversation_history: conversationOf([user("What is in this picture?", PIXEL)], "Be brief."),
      enable_thinking: false,
      max_tokens: 16,
    };
    expect(requestMessage("panel-1", params)).toEqual(shapes.client_messages.image_request);
  });

  it("sends an earlier turn's image again with the later questions", () => {
    const turns = [user("What is this?", PIXEL, "u1"), assistant("A dot.", "done", "a1"), user("What colour?", null, "u2")];
    expect(conversationOf(turns, "")).toEqual([
      { role: "user", content: userContent("What is this?", PIXEL) },
      { role: "assistant", content: "A dot." },
      { role: "user", content: "What colour?" },
    ]);
    expect(conversationImageBytes(turns)).toBe(PIXEL.bytes);
  });

  it("leaves out a stopped answer but keeps its question", () => {
    const turns = [user("Tell a story", null, "u1"), assistant("Once", "stopped", "a1"), user("Shorter", null, "u2")];
    expect(conversationOf(turns, "")).toEqual([
      { role: "user", content: "Tell a story" },
      { role: "user", content: "Shorter" },
    ]);
  });

  it("leaves out a failed answer and its question, image and all", () => {
    const turns = [user("What is this?", PIXEL, "u1"), assistant("", "error", "a1"), user("Hello", null, "u2")];
    expect(conversationOf(turns, "")).toEqual([{ role: "user", content: "Hello" }]);
    expect(conversationImageBytes(turns)).toBe(0);
  });
});

describe("applyEvent", () => {
  it("shows an agent's error on the answer it ends", () => {
    const turns = [user("What is this?", PIXEL, "r1-user"), assistant("", "streaming", "r1")];
    const message = "MultimodalNotSupported: the model has no multimodal projection";
    const [, answer] = applyEvent(turns, { kind: "error", requestId: "r1", message });
    expect(answer).toMatchObject({ status: "error", error: "MultimodalNotSupported: the model has no multimodal projection" });
  });

  it("keeps the usage with the image tokens when an answer is done", () => {
    const usage: Usage = {
      prompt_tokens: 80,
      cached_prompt_tokens: 0,
      input_image_tokens: 64,
      input_audio_tokens: 0,
      content_tokens: 3,
      reasoning_tokens: 0,
      tool_call_tokens: 0,
      undeterminable_tokens: 0,
    };
    const [answer] = applyEvent([assistant("Hi", "streaming", "r1")], { kind: "done", requestId: "r1", usage });
    expect(answer?.usage?.input_image_tokens).toBe(64);
  });
});
