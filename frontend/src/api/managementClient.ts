// The management API, typed: every answer is decoded (decode.ts) before use.
// A 401 tells the panel to ask for the management token (see TokenDialog).

import {
  decodeAgentsSnapshot,
  decodeBufferedRequestsSnapshot,
  decodeChatTemplate,
  decodeClusterView,
  decodeDesiredState,
  decodeModelMetadata,
  decodePool,
  decodePoolsSnapshot,
  errorMessageOf,
} from "./decode";
import { parseSse } from "./sse";
import { authorizationHeaders } from "./tokenStore";
import type {
  AgentsSnapshot,
  BalancerDesiredState,
  BufferedRequestsSnapshot,
  ChatTemplate,
  ClusterView,
  ModelMetadata,
  ModelPool,
  ModelPoolSettings,
  PoolsSnapshot,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, message);
    this.name = "UnauthorizedError";
  }
}

export type StreamState = "connecting" | "live" | "reconnecting";

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    message = errorMessageOf(parsed) ?? (text.trim() || message);
  } catch {
    // The body could not be read; the status line will do.
  }
  return response.status === 401 ? new UnauthorizedError(message) : new ApiError(response.status, message);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class ManagementClient {
  constructor(
    readonly baseUrl: string,
    private readonly onUnauthorized: (message: string) => void,
  ) {}

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      ...init,
      headers: { ...authorizationHeaders(), ...(init.headers as Record<string, string> | undefined) },
    });
    if (!response.ok) {
      const error = await errorOf(response);
      if (error instanceof UnauthorizedError) this.onUnauthorized(error.message);
      throw error;
    }
    return response;
  }

  private async getJson(path: string): Promise<unknown> {
    const response = await this.request(path);
    const parsed: unknown = await response.json();
    return parsed;
  }

  async agents(): Promise<AgentsSnapshot> {
    return decodeAgentsSnapshot(await this.getJson("/api/v1/agents"));
  }

  async bufferedRequests(): Promise<BufferedRequestsSnapshot> {
    return decodeBufferedRequestsSnapshot(await this.getJson("/api/v1/buffered_requests"));
  }

  async desiredState(): Promise<BalancerDesiredState> {
    return decodeDesiredState(await this.getJson("/api/v1/balancer_desired_state"));
  }

  async applicableState(): Promise<BalancerDesiredState | null> {
    const value = await this.getJson("/api/v1/balancer_applicable_state");
    return value === null ? null : decodeDesiredState(value);
  }

  /** Saves the desired state; an ApiError carries the server's reason for a refusal. */
  async putDesiredState(state: BalancerDesiredState): Promise<void> {
    await this.request("/api/v1/balancer_desired_state", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state),
    });
  }

  async cluster(): Promise<ClusterView> {
    return decodeClusterView(await this.getJson("/api/v1/cluster"));
  }

  async pools(): Promise<PoolsSnapshot> {
    return decodePoolsSnapshot(await this.getJson("/api/v1/pools"));
  }

  /** Creates or replaces a pool; an ApiError carries the server's reason for a refusal. */
  async putPool(name: string, settings: ModelPoolSettings): Promise<{ created: boolean; pool: ModelPool }> {
    const response = await this.request(`/api/v1/pools/${encodeURIComponent(name)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settings),
    });
    const parsed: unknown = await response.json();
    return { created: response.status === 201, pool: decodePool(parsed) };
  }

  /** The pool drains its requests, then leaves the list. */
  async deletePool(name: string): Promise<void> {
    await this.request(`/api/v1/pools/${encodeURIComponent(name)}`, { method: "DELETE" });
  }

  async modelMetadata(agentId: string): Promise<ModelMetadata | null> {
    return decodeModelMetadata(await this.getJson(`/api/v1/agent/${encodeURIComponent(agentId)}/model_metadata`));
  }

  async chatTemplateOverride(agentId: string): Promise<ChatTemplate | null> {
    const value = await this.getJson(`/api/v1/agent/${encodeURIComponent(agentId)}/chat_template_override`);
    return value === null ? null : decodeChatTemplate(value);
  }

  followAgents(
    onSnapshot: (snapshot: AgentsSnapshot) => void,
    onState: (state: StreamState) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.follow("/api/v1/agents/stream", decodeAgentsSnapshot, onSnapshot, onState, signal);
  }

  followBufferedRequests(
    onSnapshot: (snapshot: BufferedRequestsSnapshot) => void,
    onState: (state: StreamState) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return this.follow("/api/v1/buffered_requests/stream", decodeBufferedRequestsSnapshot, onSnapshot, onState, signal);
  }

  /**
   * Reads an SSE stream of snapshots until `signal` aborts, reconnecting with
   * backoff when it breaks. Ends at a 401 (the token dialog takes over).
   */
  private async follow<T>(
    path: string,
    decode: (value: unknown) => T,
    onSnapshot: (snapshot: T) => void,
    onState: (state: StreamState) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    while (!signal.aborted) {
      try {
        const response = await this.request(path, { signal, headers: { Accept: "text/event-stream" } });
        if (response.body === null) throw new Error("the stream has no body");
        onState("live");
        delay = RECONNECT_MIN_MS;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const data of parsed.data) onSnapshot(decode(JSON.parse(data)));
        }
      } catch (error) {
        if (signal.aborted || error instanceof UnauthorizedError) return;
      }
      if (signal.aborted) return;
      onState("reconnecting");
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  }
}
