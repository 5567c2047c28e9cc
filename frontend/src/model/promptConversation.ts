// The Prompt page's chat as turns, and the conversation it sends over the
// inference socket: the finished turns, a user turn with an image as a text
// part and an image_url part.

import type { ConversationMessage, ConversationMessageContent, InferenceEvent, Usage } from "../api/types";
import type { AttachedImage } from "./imageAttachment";

export type TurnStatus = "streaming" | "done" | "stopped" | "error";

export interface Turn {
  id: string;
  role: "user" | "assistant";
  content: string;
  // A user turn's attachment; it goes with every later request of the conversation.
  image: AttachedImage | null;
  reasoning: string;
  status: TurnStatus;
  error: string | null;
  usage: Usage | null;
}

export function applyEvent(turns: Turn[], event: InferenceEvent): Turn[] {
  return turns.map((turn) => {
    if (turn.id !== event.requestId || turn.status !== "streaming") return turn;
    switch (event.kind) {
      case "token":
        return event.tokenKind === "reasoning"
          ? { ...turn, reasoning: turn.reasoning + event.text }
          : { ...turn, content: turn.content + event.text };
      case "done":
        return { ...turn, status: "done", usage: event.usage };
      case "error":
        return { ...turn, status: "error", error: event.message };
    }
  });
}

/** A user message's content: the text alone, or the text and the image as parts. */
export function userContent(text: string, image: AttachedImage | null): ConversationMessageContent {
  if (image === null) return text;
  const imagePart = { type: "image_url", image_url: { url: image.dataUrl } } as const;
  return text === "" ? [imagePart] : [{ type: "text", text }, imagePart];
}

/** The turns a request sends again. */
function turnsThatCount(turns: Turn[]): Turn[] {
  return turns.filter((turn, index) => {
    // Only finished answers go back to the model: a stopped or failed one is left out. A question
    // whose answer failed goes too: sent again, its image would fail every later request the
    // same way on a model without a projector.
    if (turn.role === "assistant") return turn.status === "done";
    return turns[index + 1]?.status !== "error";
  });
}

/** The conversation a request sends: the system prompt if any, then the turns that count. */
export function conversationOf(turns: Turn[], system: string): ConversationMessage[] {
  const messages: ConversationMessage[] = system.trim() === "" ? [] : [{ role: "system", content: system.trim() }];
  for (const turn of turnsThatCount(turns)) {
    messages.push({ role: turn.role, content: turn.role === "user" ? userContent(turn.content, turn.image) : turn.content });
  }
  return messages;
}

/** The image bytes the next request carries already (each request sends them all again). */
export function conversationImageBytes(turns: Turn[]): number {
  return turnsThatCount(turns).reduce((total, turn) => total + (turn.image?.bytes ?? 0), 0);
}
