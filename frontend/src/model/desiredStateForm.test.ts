import { describe, expect, it } from "vitest";

import shapes from "../api/serverShapes.json";
import { decodeDesiredState } from "../api/decode";
import { formOf, parseHuggingFaceUrl, validateForm, type DesiredStateForm } from "./desiredStateForm";

function defaultForm(): DesiredStateForm {
  return formOf(decodeDesiredState(shapes.default_desired_state));
}

function errorsOf(form: DesiredStateForm): { [field: string]: string } {
  const result = validateForm(form);
  return result.ok ? {} : result.errors;
}

describe("validateForm", () => {
  it("turns the default state back into the same state", () => {
    const result = validateForm(defaultForm());
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.state).toEqual(shapes.default_desired_state);
  });

  it("sends numbers as numbers", () => {
    const form = defaultForm();
    form.parameters.temperature = "0.2";
    form.parameters.top_k = "40";
    const result = validateForm(form);
    expect(result.ok && result.state.inference_parameters.temperature).toBe(0.2);
    expect(result.ok && result.state.inference_parameters.top_k).toBe(40);
  });

  it.each([
    ["temperature", "-0.1", "at least 0"],
    ["temperature", "warm", "Enter a number"],
    ["top_p", "1.5", "between 0 and 1"],
    ["min_p", "-1", "between 0 and 1"],
    ["top_k", "2.5", "whole number"],
    ["context_size", "0", "at least 1"],
    ["n_gpu_layers", "-2", "at least -1"],
    ["penalty_last_n", "", "Enter a number"],
  ] as const)("refuses %s = %j", (key, value, message) => {
    const form = defaultForm();
    form.parameters[key] = value;
    expect(errorsOf(form)[`parameters.${key}`]).toContain(message);
  });

  it("needs the fields of the chosen model source", () => {
    const form = defaultForm();
    form.model = { ...form.model, kind: "LocalToAgent", localPath: "  " };
    expect(errorsOf(form)["model.localPath"]).toBeDefined();
    form.model = { ...form.model, kind: "Url", url: "ftp://example.com/m.gguf" };
    expect(errorsOf(form)["model.url"]).toContain("http");
    form.model = { ...form.model, kind: "HuggingFace", repoId: "", filename: "" };
    expect(Object.keys(errorsOf(form))).toEqual(expect.arrayContaining(["model.repoId", "model.filename"]));
  });

  it("refuses an empty chat template override but keeps an unused one", () => {
    const form = defaultForm();
    form.useChatTemplateOverride = true;
    expect(errorsOf(form).chatTemplateOverride).toBeDefined();
    form.useChatTemplateOverride = false;
    form.chatTemplateOverride = "{{ x }}";
    const result = validateForm(form);
    expect(result.ok && result.state.chat_template_override).toEqual({ content: "{{ x }}" });
  });

  it("refuses a multimodal projection without a model", () => {
    const form = defaultForm();
    form.multimodalProjection = { ...form.multimodalProjection, kind: "LocalToAgent", localPath: "/m/mmproj.gguf" };
    expect(errorsOf(form)["multimodalProjection.kind"]).toBeDefined();
  });
});

describe("parseHuggingFaceUrl", () => {
  it("reads blob and resolve URLs", () => {
    expect(parseHuggingFaceUrl("https://huggingface.co/owner/repo/blob/main/dir/model.Q4_K_M.gguf")).toEqual({
      repoId: "owner/repo",
      revision: "main",
      filename: "dir/model.Q4_K_M.gguf",
    });
    expect(parseHuggingFaceUrl("https://huggingface.co/o/r/resolve/abc123/m.gguf?download=true")).toEqual({
      repoId: "o/r",
      revision: "abc123",
      filename: "m.gguf",
    });
  });

  it("refuses other URLs", () => {
    expect(parseHuggingFaceUrl("https://example.com/o/r/blob/main/m.gguf")).toBeNull();
    expect(parseHuggingFaceUrl("https://huggingface.co/o/r")).toBeNull();
    expect(parseHuggingFaceUrl("not a url")).toBeNull();
  });
});
