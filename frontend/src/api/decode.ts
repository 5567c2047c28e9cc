// Checks what the server sent before the panel trusts it: every answer goes
// from `unknown` to a type of types.ts here, or a DecodeError says what
// does not fit. Nothing typed `any` leaves this module.

import {
  CIRCUIT_BREAKER_STATES,
  KV_CACHE_DTYPES,
  POOLING_TYPES,
  STATE_APPLICATION_STATUSES,
  type AgentDesiredModel,
  type AgentIssue,
  type AgentSnapshot,
  type AgentsSnapshot,
  type BalancerDesiredState,
  type BufferedRequestsSnapshot,
  type ChatTemplate,
  type ClusterView,
  type InferenceEvent,
  type InferenceParameters,
  type JsonValue,
  type ModelMetadata,
  type ModelPool,
  type PanelConfig,
  type PoolPlacement,
  type PoolsSnapshot,
  type Usage,
} from "./types";

export class DecodeError extends Error {
  constructor(path: string, expected: string, value: unknown) {
    super(`${path}: expected ${expected}, got ${describe(value)}`);
    this.name = "DecodeError";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? JSON.stringify(value).slice(0, 60) : typeof value;
}

type Fields = { [key: string]: unknown };

function record(value: unknown, path: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError(path, "an object", value);
  }
  return value as Fields;
}

function string(value: unknown, path: string): string {
  if (typeof value !== "string") throw new DecodeError(path, "a string", value);
  return value;
}

function number(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new DecodeError(path, "a number", value);
  return value;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new DecodeError(path, "true or false", value);
  return value;
}

function nullable<T>(decode: (value: unknown, path: string) => T): (value: unknown, path: string) => T | null {
  return (value, path) => (value === null || value === undefined ? null : decode(value, path));
}

function array<T>(value: unknown, path: string, decode: (item: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) throw new DecodeError(path, "an array", value);
  return value.map((item, index) => decode(item, `${path}[${index}]`));
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  const text = string(value, path);
  const found = allowed.find((candidate) => candidate === text);
  if (found === undefined) throw new DecodeError(path, `one of ${allowed.join(", ")}`, value);
  return found;
}

export function json(value: unknown, path: string): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((item, index) => json(item, `${path}[${index}]`));
  const fields = record(value, path);
  const result: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(fields)) result[key] = json(item, `${path}.${key}`);
  return result;
}

function issue(value: unknown, path: string): AgentIssue {
  if (typeof value === "string") return value;
  const fields = record(value, path);
  const result: { [variant: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(fields)) result[key] = json(item, `${path}.${key}`);
  return result;
}

export function decodeAgent(value: unknown, path = "agent"): AgentSnapshot {
  const fields = record(value, path);
  return {
    id: string(fields.id, `${path}.id`),
    name: nullable(string)(fields.name, `${path}.name`),
    slots_processing: number(fields.slots_processing, `${path}.slots_processing`),
    slots_total: number(fields.slots_total, `${path}.slots_total`),
    desired_slots_total: number(fields.desired_slots_total, `${path}.desired_slots_total`),
    download_current: number(fields.download_current, `${path}.download_current`),
    download_total: number(fields.download_total, `${path}.download_total`),
    download_filename: nullable(string)(fields.download_filename, `${path}.download_filename`),
    download_indeterminate: boolean(fields.download_indeterminate, `${path}.download_indeterminate`),
    issues: array(fields.issues, `${path}.issues`, issue),
    model_path: nullable(string)(fields.model_path, `${path}.model_path`),
    state_application_status: oneOf(
      fields.state_application_status,
      `${path}.state_application_status`,
      STATE_APPLICATION_STATUSES,
    ),
    uses_chat_template_override: boolean(fields.uses_chat_template_override, `${path}.uses_chat_template_override`),
    circuit_breaker:
      fields.circuit_breaker === undefined
        ? null
        : oneOf(fields.circuit_breaker, `${path}.circuit_breaker`, CIRCUIT_BREAKER_STATES),
  };
}

export function decodeAgentsSnapshot(value: unknown): AgentsSnapshot {
  const fields = record(value, "agents snapshot");
  return { agents: array(fields.agents, "agents", decodeAgent) };
}

export function decodeBufferedRequestsSnapshot(value: unknown): BufferedRequestsSnapshot {
  const fields = record(value, "buffered requests");
  return { buffered_requests_current: number(fields.buffered_requests_current, "buffered_requests_current") };
}

export function decodeDesiredModel(value: unknown, path: string): AgentDesiredModel {
  if (value === "None") return "None";
  const fields = record(value, path);
  const keys = Object.keys(fields);
  if (keys.length !== 1) throw new DecodeError(path, "a one-key object", value);
  if ("LocalToAgent" in fields) return { LocalToAgent: string(fields.LocalToAgent, `${path}.LocalToAgent`) };
  if ("Url" in fields) {
    const url = record(fields.Url, `${path}.Url`);
    return { Url: { url: string(url.url, `${path}.Url.url`) } };
  }
  if ("HuggingFace" in fields) {
    const reference = record(fields.HuggingFace, `${path}.HuggingFace`);
    return {
      HuggingFace: {
        repo_id: string(reference.repo_id, `${path}.HuggingFace.repo_id`),
        filename: string(reference.filename, `${path}.HuggingFace.filename`),
        revision: string(reference.revision, `${path}.HuggingFace.revision`),
      },
    };
  }
  throw new DecodeError(path, "None, LocalToAgent, HuggingFace or Url", value);
}

export function decodeChatTemplate(value: unknown, path = "chat template"): ChatTemplate {
  const fields = record(value, path);
  return { content: string(fields.content, `${path}.content`) };
}

export function decodeInferenceParameters(value: unknown, path = "inference_parameters"): InferenceParameters {
  const f = record(value, path);
  const n = (key: string): number => number(f[key], `${path}.${key}`);
  return {
    n_batch: n("n_batch"),
    context_size: n("context_size"),
    embedding_batch_size: n("embedding_batch_size"),
    enable_embeddings: boolean(f.enable_embeddings, `${path}.enable_embeddings`),
    image_resize_to_fit: n("image_resize_to_fit"),
    k_cache_dtype: oneOf(f.k_cache_dtype, `${path}.k_cache_dtype`, KV_CACHE_DTYPES),
    v_cache_dtype: oneOf(f.v_cache_dtype, `${path}.v_cache_dtype`, KV_CACHE_DTYPES),
    min_p: n("min_p"),
    n_gpu_layers: n("n_gpu_layers"),
    penalty_frequency: n("penalty_frequency"),
    penalty_last_n: n("penalty_last_n"),
    penalty_presence: n("penalty_presence"),
    penalty_repeat: n("penalty_repeat"),
    pooling_type: oneOf(f.pooling_type, `${path}.pooling_type`, POOLING_TYPES),
    temperature: n("temperature"),
    top_k: n("top_k"),
    top_p: n("top_p"),
  };
}

export function decodeDesiredState(value: unknown): BalancerDesiredState {
  const fields = record(value, "desired state");
  return {
    chat_template_override: nullable(decodeChatTemplate)(fields.chat_template_override, "chat_template_override"),
    inference_parameters: decodeInferenceParameters(fields.inference_parameters),
    model: decodeDesiredModel(fields.model, "model"),
    multimodal_projection: decodeDesiredModel(fields.multimodal_projection, "multimodal_projection"),
    use_chat_template_override: boolean(fields.use_chat_template_override, "use_chat_template_override"),
  };
}

export function decodePool(value: unknown, path = "pool"): ModelPool {
  const fields = record(value, path);
  const count = (key: string): number => number(fields[key], `${path}.${key}`);
  const limit = (key: string): number | null => nullable(number)(fields[key], `${path}.${key}`);
  return {
    name: string(fields.name, `${path}.name`),
    desired_state: decodeDesiredState(fields.desired_state),
    aliases: array(fields.aliases, `${path}.aliases`, string),
    min_agents: count("min_agents"),
    max_agents: limit("max_agents"),
    keep_alive_s: count("keep_alive_s"),
    max_concurrency: limit("max_concurrency"),
    agents: array(fields.agents, `${path}.agents`, string),
    requests_in_flight: count("requests_in_flight"),
    buffered_requests: count("buffered_requests"),
    deleting: boolean(fields.deleting, `${path}.deleting`),
    // Older balancers do not send it.
    placements: fields.placements === undefined ? [] : array(fields.placements, `${path}.placements`, decodePlacement),
  };
}

function decodePlacement(value: unknown, path: string): PoolPlacement {
  const fields = record(value, path);
  return {
    at: number(fields.at, `${path}.at`),
    agent_id: string(fields.agent_id, `${path}.agent_id`),
    agent_name: nullable(string)(fields.agent_name, `${path}.agent_name`),
    from: nullable(string)(fields.from, `${path}.from`),
    to: string(fields.to, `${path}.to`),
    reason: string(fields.reason, `${path}.reason`),
  };
}

export function decodePoolsSnapshot(value: unknown): PoolsSnapshot {
  const fields = record(value, "pools list");
  return { pools: array(fields.pools, "pools", decodePool) };
}

export function decodeModelMetadata(value: unknown): ModelMetadata | null {
  if (value === null) return null;
  const fields = record(value, "model metadata");
  const metadata = record(fields.metadata, "metadata");
  const result: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(metadata)) result[key] = json(item, `metadata.${key}`);
  return { metadata: result };
}

export function decodePanelConfig(value: unknown): PanelConfig {
  const fields = record(value, "config.json");
  return {
    management_addr: string(fields.management_addr, "management_addr"),
    inference_addr: string(fields.inference_addr, "inference_addr"),
    compat_openai_addr: nullable(string)(fields.compat_openai_addr, "compat_openai_addr"),
    max_buffered_requests: number(fields.max_buffered_requests, "max_buffered_requests"),
    buffered_request_timeout_ms: number(fields.buffered_request_timeout_ms, "buffered_request_timeout_ms"),
    tls: fields.tls === undefined ? false : boolean(fields.tls, "tls"),
  };
}

export function decodeClusterView(value: unknown): ClusterView {
  const fields = record(value, "cluster");
  const database = record(fields.state_database, "state_database");
  const leadership = record(fields.leadership, "leadership");
  return {
    balancer: string(fields.balancer, "balancer"),
    state_database: {
      kind: string(database.kind, "state_database.kind"),
      reachable: boolean(database.reachable, "state_database.reachable"),
      error: nullable(string)(database.error, "state_database.error"),
    },
    leadership: {
      elected: boolean(leadership.elected, "leadership.elected"),
      is_leader: boolean(leadership.is_leader, "leadership.is_leader"),
      leader: nullable(string)(leadership.leader, "leadership.leader"),
    },
  };
}

/** The message of an error answer: `{"error": "..."}` or `{"error": {"code", "description"}}`. */
export function errorMessageOf(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const error = (value as Fields).error;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const fields = error as Fields;
    if (typeof fields.description === "string") return fields.description;
    if (typeof fields.message === "string") return fields.message;
  }
  return null;
}

function decodeUsage(value: unknown): Usage {
  const f = record(value, "usage");
  const n = (key: string): number => (f[key] === undefined ? 0 : number(f[key], `usage.${key}`));
  return {
    prompt_tokens: n("prompt_tokens"),
    cached_prompt_tokens: n("cached_prompt_tokens"),
    input_image_tokens: n("input_image_tokens"),
    input_audio_tokens: n("input_audio_tokens"),
    content_tokens: n("content_tokens"),
    reasoning_tokens: n("reasoning_tokens"),
    tool_call_tokens: n("tool_call_tokens"),
    undeterminable_tokens: n("undeterminable_tokens"),
  };
}

const TOKEN_KINDS = {
  ContentToken: "content",
  ReasoningToken: "reasoning",
  ToolCallToken: "tool_call",
  UndeterminableToken: "undeterminable",
} as const;

function isTokenVariant(key: string): key is keyof typeof TOKEN_KINDS {
  return key in TOKEN_KINDS;
}

const STRING_RESPONSES: { [variant: string]: string } = {
  Timeout: "The request timed out: no agent slot freed up, or the agent went silent.",
  TooManyBufferedRequests: "Too many requests are waiting for a slot; try again in a moment.",
};

/** One message of the inference socket as an event of the chat. */
export function decodeInferenceMessage(value: unknown): InferenceEvent {
  const message = record(value, "inference message");
  if ("Error" in message) {
    const error = record(message.Error, "Error");
    const details = record(error.error, "Error.error");
    const code = number(details.code, "Error.error.code");
    return {
      kind: "error",
      requestId: string(error.request_id, "Error.request_id"),
      message: `${code}: ${string(details.description, "Error.error.description")}`,
    };
  }
  const envelope = record(message.Response, "Response");
  const requestId = string(envelope.request_id, "Response.request_id");
  const response = envelope.response;
  if (typeof response === "string") {
    return { kind: "error", requestId, message: STRING_RESPONSES[response] ?? response };
  }
  const generated = record(response, "Response.response").GeneratedToken;
  if (typeof generated === "string") return { kind: "error", requestId, message: generated };
  const variant = record(generated, "GeneratedToken");
  const [key, detail] = Object.entries(variant)[0] ?? ["", null];
  if (isTokenVariant(key)) {
    return { kind: "token", requestId, tokenKind: TOKEN_KINDS[key], text: string(detail, `GeneratedToken.${key}`) };
  }
  if (key === "Done") {
    return { kind: "done", requestId, usage: decodeUsage(record(detail, "Done").usage) };
  }
  // Every other variant ends the request with an error (ChatTemplateError, GrammarSyntaxError, ...).
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  return { kind: "error", requestId, message: detail === null ? key : `${key}: ${text}` };
}
