// What the Model page shows for each inference parameter: a label, a unit,
// the range the balancer accepts (python/paddler/protocol/inference_parameters.py)
// and a line of help.

import { KV_CACHE_DTYPES, POOLING_TYPES, type InferenceParameters } from "../api/types";

export type ParameterKey = keyof InferenceParameters;

interface BaseSpec {
  key: ParameterKey;
  label: string;
  help: string;
}

export interface NumberSpec extends BaseSpec {
  kind: "integer" | "number";
  unit: string;
  min: number | null;
  max: number | null;
  step: number;
}

export interface ChoiceSpec extends BaseSpec {
  kind: "choice";
  choices: readonly string[];
}

export interface BooleanSpec extends BaseSpec {
  kind: "boolean";
}

export type ParameterSpec = NumberSpec | ChoiceSpec | BooleanSpec;

export interface ParameterGroup {
  title: string;
  specs: ParameterSpec[];
}

function integer(key: ParameterKey, label: string, unit: string, min: number | null, help: string): NumberSpec {
  return { key, label, unit, min, max: null, step: 1, kind: "integer", help };
}

function decimal(
  key: ParameterKey,
  label: string,
  unit: string,
  min: number | null,
  max: number | null,
  help: string,
): NumberSpec {
  return { key, label, unit, min, max, step: 0.01, kind: "number", help };
}

export const PARAMETER_GROUPS: ParameterGroup[] = [
  {
    title: "Sampling",
    specs: [
      decimal("temperature", "Temperature", "", 0, null, "0 always picks the likeliest token; higher is more varied."),
      integer("top_k", "Top k", "tokens", 0, "Sample among this many likeliest tokens; 0 turns it off."),
      decimal("top_p", "Top p", "probability", 0, 1, "Sample among the likeliest tokens whose probabilities add up to this."),
      decimal("min_p", "Min p", "probability", 0, 1, "Drop tokens less likely than this fraction of the likeliest one."),
      decimal("penalty_repeat", "Repeat penalty", "factor", null, null, "1 turns it off; above 1 discourages repeats."),
      decimal("penalty_presence", "Presence penalty", "", null, null, "Subtracted once from every token already present."),
      decimal("penalty_frequency", "Frequency penalty", "", null, null, "Subtracted per occurrence of a token already present."),
      integer("penalty_last_n", "Penalty window", "tokens", -1, "How far back penalties look; -1 the whole context, 0 off."),
    ],
  },
  {
    title: "Engine",
    specs: [
      integer("context_size", "Context size", "tokens", 1, "Tokens of context each slot can hold."),
      integer("n_batch", "Batch size", "tokens", 1, "Most tokens decoded in one step."),
      integer("n_gpu_layers", "GPU layers", "layers", -1, "Layers offloaded to the GPU; -1 all, 0 none."),
      { key: "k_cache_dtype", label: "K cache type", kind: "choice", choices: KV_CACHE_DTYPES, help: "Precision of the attention keys cache." },
      { key: "v_cache_dtype", label: "V cache type", kind: "choice", choices: KV_CACHE_DTYPES, help: "Precision of the attention values cache." },
      integer("image_resize_to_fit", "Image size limit", "pixels", 1, "Images larger than this are scaled down to fit."),
    ],
  },
  {
    title: "Embeddings",
    specs: [
      { key: "enable_embeddings", label: "Enable embeddings", kind: "boolean", help: "Serve embedding requests (the model must support them)." },
      integer("embedding_batch_size", "Embedding batch size", "tokens", 1, "Most tokens embedded in one step."),
      { key: "pooling_type", label: "Pooling", kind: "choice", choices: POOLING_TYPES, help: "How token vectors become one embedding." },
    ],
  },
];

export const PARAMETER_SPECS: ParameterSpec[] = PARAMETER_GROUPS.flatMap((group) => group.specs);
