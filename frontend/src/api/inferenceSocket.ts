// The inference WebSocket (/api/v1/inference_socket): many requests over one
// socket, each message tagged with its request id.

import { decodeInferenceMessage } from "./decode";
import type { ContinueFromConversationHistoryParams, InferenceEvent, InferenceSocketClientMessage } from "./types";

export type SocketState = { kind: "connecting" } | { kind: "open" } | { kind: "closed"; reason: string };

let counter = 0;

/** A unique id; crypto.randomUUID exists only in secure contexts, which a panel on http://host is not. */
export function newRequestId(): string {
  counter += 1;
  return `panel-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The socket's message that asks for a generation from a conversation. */
export function requestMessage(id: string, params: ContinueFromConversationHistoryParams): InferenceSocketClientMessage {
  return { Request: { id, request: { ContinueFromConversationHistory: params } } };
}

export class InferenceSocket {
  private socket: WebSocket | null = null;
  private closedByUs = false;

  constructor(
    readonly url: string,
    private readonly onEvent: (event: InferenceEvent) => void,
    private readonly onState: (state: SocketState) => void,
  ) {}

  connect(): void {
    this.closedByUs = false;
    this.onState({ kind: "connecting" });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => this.onState({ kind: "open" });
    socket.onmessage = (message: MessageEvent<unknown>) => {
      if (typeof message.data !== "string") return;
      let event: InferenceEvent;
      try {
        event = decodeInferenceMessage(JSON.parse(message.data));
      } catch (error) {
        console.error("an inference socket message the panel cannot read", message.data, error);
        return;
      }
      this.onEvent(event);
    };
    socket.onclose = (close: CloseEvent) => {
      if (this.socket !== socket || this.closedByUs) return;
      this.socket = null;
      const detail = close.reason ? `: ${close.reason}` : "";
      this.onState({
        kind: "closed",
        reason:
          `The inference socket at ${this.url.split("?")[0]} closed (code ${close.code}${detail}). ` +
          "Is the balancer running, and does it require an inference API key?",
      });
    };
  }

  get isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  private send(message: InferenceSocketClientMessage): boolean {
    if (!this.isOpen || this.socket === null) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  request(id: string, params: ContinueFromConversationHistoryParams): boolean {
    return this.send(requestMessage(id, params));
  }

  stop(id: string): boolean {
    return this.send({ Notification: { StopRespondingTo: id } });
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.close();
    this.socket = null;
  }
}
