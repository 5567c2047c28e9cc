// The Pools page's form: a pool's name, aliases, limits and model, checked
// with the balancer's own rules (python/paddler/protocol/model_pool.py) before
// it becomes the body of PUT /api/v1/pools/{name}. A 400 or 409 from the
// server is still shown, for what only the server can know (an alias taken).

import type { ModelPool, ModelPoolSettings } from "../api/types";
import {
  emptyModelSource,
  modelSourceForm,
  validateModelSource,
  type FormErrors,
  type ModelSourceForm,
} from "./desiredStateForm";

export const DEFAULT_POOL = "default";
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAX_ALIASES = 32;
const MAX_ALIAS_LENGTH = 256;

export interface PoolForm {
  name: string;
  /** Comma-separated. */
  aliases: string;
  minAgents: string;
  /** Empty: no limit. */
  maxAgents: string;
  keepAliveS: string;
  /** Empty: no limit. */
  maxConcurrency: string;
  model: ModelSourceForm;
}

/**
 * The pool being edited, whose desired state is sent back with only its model
 * changed (a PUT replaces all of it); null for a new pool.
 */
export type PoolEditTarget = ModelPool | null;

export type ValidatedPool = { ok: true; name: string; settings: ModelPoolSettings } | { ok: false; errors: FormErrors };

export function emptyPoolForm(): PoolForm {
  return {
    name: "",
    aliases: "",
    minAgents: "0",
    maxAgents: "",
    keepAliveS: "300",
    maxConcurrency: "",
    model: { ...emptyModelSource(), kind: "LocalToAgent" },
  };
}

export function poolFormOf(pool: ModelPool): PoolForm {
  return {
    name: pool.name,
    aliases: pool.aliases.join(", "),
    minAgents: String(pool.min_agents),
    maxAgents: pool.max_agents === null ? "" : String(pool.max_agents),
    keepAliveS: String(pool.keep_alive_s),
    maxConcurrency: pool.max_concurrency === null ? "" : String(pool.max_concurrency),
    model: modelSourceForm(pool.desired_state.model),
  };
}

/** `"a, b,,c "` as `["a", "b", "c"]`. */
export function parseAliases(text: string): string[] {
  return text
    .split(",")
    .map((alias) => alias.trim())
    .filter((alias) => alias !== "");
}

function wholeNumber(text: string, field: string, least: number, errors: FormErrors): number | null {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === "" || !Number.isInteger(value)) {
    errors[field] = "Enter a whole number.";
    return null;
  }
  if (value < least) {
    errors[field] = `Must be at least ${least}.`;
    return null;
  }
  return value;
}

/** An empty field is no limit (null). */
function optionalLimit(text: string, field: string, errors: FormErrors): number | null {
  return text.trim() === "" ? null : wholeNumber(text, field, 1, errors);
}

export function validatePoolForm(form: PoolForm, editing: PoolEditTarget): ValidatedPool {
  const errors: FormErrors = {};
  const name = editing?.name ?? form.name.trim();
  if (!POOL_NAME.test(name)) {
    errors.name = "1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or a digit.";
  }

  const aliases = parseAliases(form.aliases);
  if (aliases.length > MAX_ALIASES) errors.aliases = `At most ${MAX_ALIASES} aliases.`;
  else if (aliases.some((alias) => alias.length > MAX_ALIAS_LENGTH)) {
    errors.aliases = `An alias has at most ${MAX_ALIAS_LENGTH} characters.`;
  } else if (new Set(aliases).size !== aliases.length) errors.aliases = "An alias is listed twice.";

  const minAgents = wholeNumber(form.minAgents, "minAgents", 0, errors);
  const maxAgents = optionalLimit(form.maxAgents, "maxAgents", errors);
  if (minAgents !== null && maxAgents !== null && minAgents > maxAgents) {
    errors.maxAgents = "Must be at least the minimum.";
  }
  const keepAliveText = form.keepAliveS.trim();
  const keepAliveS = Number(keepAliveText);
  if (keepAliveText === "" || !Number.isFinite(keepAliveS)) errors.keepAliveS = "Enter a number of seconds.";
  else if (keepAliveS < 0) errors.keepAliveS = "Must be at least 0.";
  const maxConcurrency = optionalLimit(form.maxConcurrency, "maxConcurrency", errors);

  const model = validateModelSource(form.model, "model", errors);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    name,
    settings: {
      // A new pool gets the balancer's defaults for all but the model.
      desired_state: editing === null ? { model } : { ...editing.desired_state, model },
      aliases,
      min_agents: minAgents ?? 0,
      max_agents: maxAgents,
      keep_alive_s: keepAliveS,
      max_concurrency: maxConcurrency,
    },
  };
}
