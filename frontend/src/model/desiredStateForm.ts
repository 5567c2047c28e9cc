// The Model page's form: what an operator types, checked before it becomes a
// desired state. The checks mirror the balancer's own (a 400 from the server
// is still shown, for whatever slips through).

import type { AgentDesiredModel, BalancerDesiredState, InferenceParameters } from "../api/types";
import { PARAMETER_SPECS, type ParameterKey, type ParameterSpec } from "./inferenceParameterSpecs";

export type ModelSourceKind = "None" | "LocalToAgent" | "Url" | "HuggingFace";

export interface ModelSourceForm {
  kind: ModelSourceKind;
  localPath: string;
  url: string;
  repoId: string;
  filename: string;
  revision: string;
}

export type ParameterValues = { [K in ParameterKey]: string | boolean };

export interface DesiredStateForm {
  model: ModelSourceForm;
  multimodalProjection: ModelSourceForm;
  useChatTemplateOverride: boolean;
  chatTemplateOverride: string;
  parameters: ParameterValues;
}

/** Field path (`model.url`, `parameters.temperature`, `chatTemplateOverride`) to what is wrong with it. */
export type FormErrors = { [field: string]: string };

export type Validated = { ok: true; state: BalancerDesiredState } | { ok: false; errors: FormErrors };

export function emptyModelSource(): ModelSourceForm {
  return { kind: "None", localPath: "", url: "", repoId: "", filename: "", revision: "main" };
}

export function modelSourceForm(model: AgentDesiredModel): ModelSourceForm {
  const form = emptyModelSource();
  if (model === "None") return form;
  if ("LocalToAgent" in model) return { ...form, kind: "LocalToAgent", localPath: model.LocalToAgent };
  if ("Url" in model) return { ...form, kind: "Url", url: model.Url.url };
  const reference = model.HuggingFace;
  return {
    ...form,
    kind: "HuggingFace",
    repoId: reference.repo_id,
    filename: reference.filename,
    revision: reference.revision,
  };
}

export function formOf(state: BalancerDesiredState): DesiredStateForm {
  const parameters = {} as ParameterValues;
  for (const spec of PARAMETER_SPECS) {
    const value = state.inference_parameters[spec.key];
    parameters[spec.key] = typeof value === "boolean" ? value : String(value);
  }
  return {
    model: modelSourceForm(state.model),
    multimodalProjection: modelSourceForm(state.multimodal_projection),
    useChatTemplateOverride: state.use_chat_template_override,
    chatTemplateOverride: state.chat_template_override?.content ?? "",
    parameters,
  };
}

export interface HuggingFaceFile {
  repoId: string;
  revision: string;
  filename: string;
}

/** `https://huggingface.co/OWNER/REPO/(blob|resolve)/REVISION/PATH` into its parts, or null. */
export function parseHuggingFaceUrl(text: string): HuggingFaceFile | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (!/^(www\.)?(huggingface\.co|hf\.co)$/.test(url.hostname)) return null;
  const parts = url.pathname.split("/").filter((part) => part !== "").map(decodeURIComponent);
  const [owner, repo, mode, revision, ...path] = parts;
  if (!owner || !repo || (mode !== "blob" && mode !== "resolve") || !revision || path.length === 0) return null;
  return { repoId: `${owner}/${repo}`, revision, filename: path.join("/") };
}

export function validateModelSource(form: ModelSourceForm, field: string, errors: FormErrors): AgentDesiredModel {
  switch (form.kind) {
    case "None":
      return "None";
    case "LocalToAgent": {
      const path = form.localPath.trim();
      if (path === "") errors[`${field}.localPath`] = "Give the path of the model file on the agents' machines.";
      return { LocalToAgent: path };
    }
    case "Url": {
      const url = form.url.trim();
      if (!/^https?:\/\/\S+$/.test(url)) errors[`${field}.url`] = "The URL must start with http:// or https://.";
      return { Url: { url } };
    }
    case "HuggingFace": {
      const repoId = form.repoId.trim();
      const filename = form.filename.trim();
      if (repoId === "") errors[`${field}.repoId`] = "Give the repository, such as owner/name.";
      else if (/\s/.test(repoId)) errors[`${field}.repoId`] = "A repository id has no spaces.";
      if (filename === "") errors[`${field}.filename`] = "Give the file in the repository, such as model.Q4_K_M.gguf.";
      return { HuggingFace: { repo_id: repoId, filename, revision: form.revision.trim() || "main" } };
    }
  }
}

function validateParameter(spec: ParameterSpec, raw: string | boolean, errors: FormErrors): number | string | boolean {
  const field = `parameters.${spec.key}`;
  if (spec.kind === "boolean") return raw === true;
  if (spec.kind === "choice") {
    const value = String(raw);
    if (!spec.choices.includes(value)) errors[field] = `Pick one of ${spec.choices.join(", ")}.`;
    return value;
  }
  const text = String(raw).trim();
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) {
    errors[field] = "Enter a number.";
    return 0;
  }
  if (spec.kind === "integer" && !Number.isInteger(value)) {
    errors[field] = "Enter a whole number.";
  } else if (spec.min !== null && value < spec.min) {
    errors[field] = spec.max !== null ? `Must be between ${spec.min} and ${spec.max}.` : `Must be at least ${spec.min}.`;
  } else if (spec.max !== null && value > spec.max) {
    errors[field] = spec.min !== null ? `Must be between ${spec.min} and ${spec.max}.` : `Must be at most ${spec.max}.`;
  }
  return value;
}

export function validateForm(form: DesiredStateForm): Validated {
  const errors: FormErrors = {};
  const model = validateModelSource(form.model, "model", errors);
  const multimodalProjection = validateModelSource(form.multimodalProjection, "multimodalProjection", errors);
  if (form.multimodalProjection.kind !== "None" && form.model.kind === "None") {
    errors["multimodalProjection.kind"] = "A multimodal projection needs a model to go with it.";
  }
  const template = form.chatTemplateOverride;
  if (form.useChatTemplateOverride && template.trim() === "") {
    errors.chatTemplateOverride = "The override is empty: write a template or use the model's own.";
  }
  const parameters: { [key: string]: number | string | boolean } = {};
  for (const spec of PARAMETER_SPECS) {
    parameters[spec.key] = validateParameter(spec, form.parameters[spec.key], errors);
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    state: {
      model,
      multimodal_projection: multimodalProjection,
      use_chat_template_override: form.useChatTemplateOverride,
      // Kept even when not in use, so switching back does not lose the text.
      chat_template_override: template.trim() === "" ? null : { content: template },
      inference_parameters: parameters as unknown as InferenceParameters,
    },
  };
}
