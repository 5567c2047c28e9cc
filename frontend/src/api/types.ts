// The shapes of the balancer's management and inference APIs, as PROTOCOL.md
// and python/paddler/protocol define them. serverShapes.json (written by a
// Python test from the real protocol models) is decoded with these types in
// decode.test.ts, so a drift on either side fails a test.

export type StateApplicationStatus =
  | "Fresh"
  | "AttemptedAndRetrying"
  | "Stuck"
  | "Applied"
  | "AttemptedAndNotAppliable";

export const STATE_APPLICATION_STATUSES: readonly StateApplicationStatus[] = [
  "Fresh",
  "AttemptedAndRetrying",
  "Stuck",
  "Applied",
  "AttemptedAndNotAppliable",
];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

// A unit variant (`"SlotCannotStart"`) or a one-key object (`{"ModelCannotBeLoaded": "/path"}`).
export type AgentIssue = string | { [variant: string]: JsonValue };

export interface AgentSnapshot {
  id: string;
  name: string | null;
  slots_processing: number;
  slots_total: number;
  desired_slots_total: number;
  download_current: number;
  download_total: number;
  download_filename: string | null;
  download_indeterminate: boolean;
  issues: AgentIssue[];
  model_path: string | null;
  state_application_status: StateApplicationStatus;
  uses_chat_template_override: boolean;
  // Beyond Paddler's fields: an open breaker is why an agent with free slots gets no requests.
  circuit_breaker: CircuitBreakerState | null;
}

export type CircuitBreakerState = "Closed" | "Open" | "HalfOpen";
export const CIRCUIT_BREAKER_STATES: readonly CircuitBreakerState[] = ["Closed", "Open", "HalfOpen"];

export interface AgentsSnapshot {
  agents: AgentSnapshot[];
}

export interface BufferedRequestsSnapshot {
  buffered_requests_current: number;
}

export interface HuggingFaceModelReference {
  repo_id: string;
  filename: string;
  revision: string;
}

export type AgentDesiredModel =
  | "None"
  | { LocalToAgent: string }
  | { HuggingFace: HuggingFaceModelReference }
  | { Url: { url: string } };

export type KvCacheDtype = "F32" | "F16" | "BF16" | "Q8_0" | "Q4_0" | "Q4_1" | "IQ4_NL" | "Q5_0" | "Q5_1";
export const KV_CACHE_DTYPES: readonly KvCacheDtype[] = [
  "F32",
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_1",
  "IQ4_NL",
  "Q5_0",
  "Q5_1",
];

export type PoolingType = "Unspecified" | "None" | "Mean" | "Cls" | "Last" | "Rank";
export const POOLING_TYPES: readonly PoolingType[] = ["Unspecified", "None", "Mean", "Cls", "Last", "Rank"];

export interface InferenceParameters {
  n_batch: number;
  context_size: number;
  embedding_batch_size: number;
  enable_embeddings: boolean;
  image_resize_to_fit: number;
  k_cache_dtype: KvCacheDtype;
  v_cache_dtype: KvCacheDtype;
  min_p: number;
  n_gpu_layers: number;
  penalty_frequency: number;
  penalty_last_n: number;
  penalty_presence: number;
  penalty_repeat: number;
  pooling_type: PoolingType;
  temperature: number;
  top_k: number;
  top_p: number;
}

export interface ChatTemplate {
  content: string;
}

export interface BalancerDesiredState {
  chat_template_override: ChatTemplate | null;
  inference_parameters: InferenceParameters;
  model: AgentDesiredModel;
  multimodal_projection: AgentDesiredModel;
  use_chat_template_override: boolean;
}

// --- model pools (/api/v1/pools) ---------------------------------------------

/** What `PUT /api/v1/pools/{name}` takes; the server fills what is left out. */
export interface ModelPoolSettings {
  desired_state: Partial<BalancerDesiredState>;
  aliases: string[];
  min_agents: number;
  /** null: no limit. */
  max_agents: number | null;
  keep_alive_s: number;
  /** Requests in flight across the pool, running and buffered; null: no limit. */
  max_concurrency: number | null;
}

/** One decision of the balancer's placement: an agent given to a pool, and why. */
export interface PoolPlacement {
  /** Unix time, seconds. */
  at: number;
  agent_id: string;
  agent_name: string | null;
  /** The pool it left; null when it served none. */
  from: string | null;
  to: string;
  /** "min_agents", "waiting_requests" or "pool_deleted". */
  reason: string;
}

export interface ModelPool extends ModelPoolSettings {
  name: string;
  desired_state: BalancerDesiredState;
  /** Agent ids; GET /api/v1/agents has their names. */
  agents: string[];
  requests_in_flight: number;
  buffered_requests: number;
  /** Deleted, draining its requests before it goes. */
  deleting: boolean;
  /** The latest agents placed in it, oldest first. */
  placements: PoolPlacement[];
}

export interface PoolsSnapshot {
  pools: ModelPool[];
}

export interface ModelMetadata {
  metadata: { [key: string]: JsonValue };
}

// --- the inference socket ---------------------------------------------------

export interface TextContentPart {
  type: "text";
  text: string;
}

export interface ImageUrlContentPart {
  type: "image_url";
  // A data: URL (data:image/png;base64,...): the agent decodes it, never fetches.
  image_url: { url: string };
}

export type ConversationContentPart = TextContentPart | ImageUrlContentPart;

// Plain text, or parts when the message carries an image.
export type ConversationMessageContent = string | ConversationContentPart[];

export interface ConversationMessage {
  role: "system" | "user" | "assistant";
  content: ConversationMessageContent;
}

export interface ContinueFromConversationHistoryParams {
  add_generation_prompt: boolean;
  conversation_history: ConversationMessage[];
  enable_thinking: boolean;
  max_tokens: number;
}

export type InferenceSocketClientMessage =
  | { Request: { id: string; request: { ContinueFromConversationHistory: ContinueFromConversationHistoryParams } } }
  | { Notification: { StopRespondingTo: string } };

export interface Usage {
  prompt_tokens: number;
  cached_prompt_tokens: number;
  input_image_tokens: number;
  input_audio_tokens: number;
  content_tokens: number;
  reasoning_tokens: number;
  tool_call_tokens: number;
  undeterminable_tokens: number;
}

// What one message of the socket means to the chat, once decoded.
export type InferenceEvent =
  | { kind: "token"; requestId: string; tokenKind: "content" | "reasoning" | "tool_call" | "undeterminable"; text: string }
  | { kind: "done"; requestId: string; usage: Usage }
  | { kind: "error"; requestId: string; message: string };

// --- the panel's own config, served by the panel service ----------------------

export interface PanelConfig {
  management_addr: string;
  inference_addr: string;
  compat_openai_addr: string | null;
  max_buffered_requests: number;
  buffered_request_timeout_ms: number;
  /** The APIs are served over TLS: https and wss. */
  tls: boolean;
}

// GET /api/v1/cluster: this balancer, its state database and the cluster's leader.
export interface ClusterView {
  balancer: string;
  state_database: { kind: string; reachable: boolean; error: string | null };
  leadership: { elected: boolean; is_leader: boolean; leader: string | null };
}
