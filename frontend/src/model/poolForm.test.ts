import { describe, expect, it } from "vitest";

import { decodeDesiredState, decodePool } from "../api/decode";
import shapes from "../api/serverShapes.json";
import type { ModelPool } from "../api/types";
import { emptyPoolForm, parseAliases, poolFormOf, validatePoolForm, type PoolForm } from "./poolForm";

function existingPool(): ModelPool {
  return decodePool({
    name: "qwen",
    desired_state: shapes.full_desired_state,
    aliases: ["gpt-4o", "q"],
    min_agents: 1,
    max_agents: 3,
    keep_alive_s: 60,
    max_concurrency: null,
    agents: ["agent-1"],
    requests_in_flight: 2,
    buffered_requests: 1,
    deleting: false,
  });
}

function newForm(patch: Partial<PoolForm>): PoolForm {
  const form = emptyPoolForm();
  return { ...form, name: "other", model: { ...form.model, localPath: "/models/other.gguf" }, ...patch };
}

function errorsOf(form: PoolForm, editing: ModelPool | null = null): { [field: string]: string } {
  const result = validatePoolForm(form, editing);
  return result.ok ? {} : result.errors;
}

describe("validatePoolForm", () => {
  it("makes a new pool of a local model with the balancer's defaults for the rest", () => {
    const result = validatePoolForm(newForm({ aliases: " a, b ,, " }), null);
    expect(result).toEqual({
      ok: true,
      name: "other",
      settings: {
        desired_state: { model: { LocalToAgent: "/models/other.gguf" } },
        aliases: ["a", "b"],
        min_agents: 0,
        max_agents: null,
        keep_alive_s: 300,
        max_concurrency: null,
      },
    });
  });

  it("sends an edited pool's desired state back with only its model changed", () => {
    const pool = existingPool();
    const form = poolFormOf(pool);
    expect(form).toMatchObject({ name: "qwen", aliases: "gpt-4o, q", minAgents: "1", maxAgents: "3", maxConcurrency: "" });
    const result = validatePoolForm({ ...form, model: { ...form.model, kind: "LocalToAgent", localPath: "/m.gguf" }, maxAgents: "" }, pool);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.settings.desired_state).toEqual({
      ...decodeDesiredState(shapes.full_desired_state),
      model: { LocalToAgent: "/m.gguf" },
    });
    expect(result.settings.max_agents).toBeNull();
    expect(result.settings.min_agents).toBe(1);
  });

  it("refuses names the balancer refuses", () => {
    for (const name of ["", "-x", "a b", "x/y", "a".repeat(129)]) expect(errorsOf(newForm({ name }))).toHaveProperty("name");
    for (const name of ["a", "Qwen3:8b-q4_K.M", "a".repeat(128)]) expect(errorsOf(newForm({ name }))).toEqual({});
  });

  it("reads empty limits as no limit and refuses what is not a whole number in range", () => {
    expect(errorsOf(newForm({ maxAgents: "", maxConcurrency: " " }))).toEqual({});
    expect(errorsOf(newForm({ minAgents: "" }))).toHaveProperty("minAgents");
    expect(errorsOf(newForm({ minAgents: "-1" }))).toHaveProperty("minAgents");
    expect(errorsOf(newForm({ maxAgents: "0" }))).toHaveProperty("maxAgents");
    expect(errorsOf(newForm({ maxConcurrency: "1.5" }))).toHaveProperty("maxConcurrency");
    expect(errorsOf(newForm({ keepAliveS: "-1" }))).toHaveProperty("keepAliveS");
    expect(validatePoolForm(newForm({ keepAliveS: "0.5" }), null)).toMatchObject({ ok: true, settings: { keep_alive_s: 0.5 } });
  });

  it("refuses a minimum above the maximum, a repeated alias and a missing path", () => {
    expect(errorsOf(newForm({ minAgents: "3", maxAgents: "2" }))).toHaveProperty("maxAgents");
    expect(errorsOf(newForm({ aliases: "a, b, a" }))).toHaveProperty("aliases");
    expect(errorsOf(newForm({ model: emptyPoolForm().model }))).toHaveProperty(["model.localPath"]);
  });
});

describe("parseAliases", () => {
  it("splits on commas and drops blanks", () => {
    expect(parseAliases("")).toEqual([]);
    expect(parseAliases(" gpt-4o ,qwen, ")).toEqual(["gpt-4o", "qwen"]);
  });
});
