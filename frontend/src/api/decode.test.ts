import { describe, expect, it } from "vitest";

import {
  decodeAgentsSnapshot,
  decodeBufferedRequestsSnapshot,
  decodeDesiredState,
  decodeInferenceMessage,
  decodePoolsSnapshot,
  DecodeError,
  errorMessageOf,
} from "./decode";
import shapes from "./serverShapes.json";

// serverShapes.json is written from the balancer's own code by
// tests/unit/web_admin_panel/test_the_panel_fixture_of_server_shapes_matches_the_protocol.py.

describe("the decoders read what the balancer sends", () => {
  it("reads agent snapshots with issues, downloads and the circuit breaker", () => {
    const { agents } = decodeAgentsSnapshot(shapes.agents);
    expect(agents).toHaveLength(2);
    expect(agents[0]?.name).toBe("gpu-box");
    // Only an agent whose breaker is not closed has the field.
    expect(agents[0]?.circuit_breaker).toBeNull();
    expect(agents[1]?.circuit_breaker).toBe("Open");
    expect(agents[1]?.issues).toEqual(["SlotCannotStart", { ModelCannotBeLoaded: "/models/missing.gguf" }]);
    expect(agents[1]?.state_application_status).toBe("AttemptedAndRetrying");
  });

  it("reads the buffered requests snapshot", () => {
    expect(decodeBufferedRequestsSnapshot(shapes.buffered_requests).buffered_requests_current).toBe(3);
  });

  it("reads the default and a full desired state and writes them back unchanged", () => {
    for (const state of [shapes.default_desired_state, shapes.full_desired_state]) {
      const decoded = decodeDesiredState(state);
      expect(JSON.parse(JSON.stringify(decoded))).toEqual(state);
    }
  });

  it("reads the pools list, with no limit as null", () => {
    const pool = {
      name: "default",
      desired_state: shapes.default_desired_state,
      aliases: ["gpt-4o"],
      min_agents: 0,
      max_agents: null,
      keep_alive_s: 300.0,
      max_concurrency: 8,
      agents: ["agent-1"],
      requests_in_flight: 2,
      buffered_requests: 1,
      deleting: false,
      placements: [
        { at: 1764633600.5, agent_id: "agent-1", agent_name: null, from: null, to: "default", reason: "min_agents" },
      ],
    };
    expect(decodePoolsSnapshot({ pools: [pool] })).toEqual({ pools: [pool] });
    // From a balancer that does not send them: none.
    const { placements: _, ...older } = pool;
    expect(decodePoolsSnapshot({ pools: [older] }).pools[0]?.placements).toEqual([]);
    expect(() => decodePoolsSnapshot({ pools: [{ ...pool, deleting: "no" }] })).toThrow(/pools\[0\]\.deleting/);
  });

  it("reads every kind of inference message", () => {
    const events = shapes.inference_messages.map((message) => decodeInferenceMessage(message));
    expect(events[0]).toEqual({ kind: "token", requestId: "r1", tokenKind: "reasoning", text: "hmm" });
    expect(events[1]).toEqual({ kind: "token", requestId: "r1", tokenKind: "content", text: "Hi" });
    expect(events[2]).toMatchObject({ kind: "done", requestId: "r1", usage: { prompt_tokens: 5 } });
    expect(events[3]).toMatchObject({ kind: "error", requestId: "r2" });
    expect(events[4]).toEqual({ kind: "error", requestId: "r3", message: "503: no agents" });
    expect(events[5]).toEqual({
      kind: "error",
      requestId: "r4",
      message: "MultimodalNotSupported: the model has no multimodal projection",
    });
  });

  it("reads a terminal error variant as an error", () => {
    const message = { Response: { request_id: "r", generated_by: "a", response: { GeneratedToken: { GrammarSyntaxError: "bad" } } } };
    expect(decodeInferenceMessage(message)).toEqual({ kind: "error", requestId: "r", message: "GrammarSyntaxError: bad" });
  });

  it("refuses a snapshot that does not fit, naming the field", () => {
    const broken = { agents: [{ ...shapes.agents.agents[0], slots_total: "four" }] };
    expect(() => decodeAgentsSnapshot(broken)).toThrow(DecodeError);
    expect(() => decodeAgentsSnapshot(broken)).toThrow(/agents\[0\]\.slots_total/);
  });

  it("finds the message of both error shapes", () => {
    expect(errorMessageOf({ error: "this API needs a token" })).toBe("this API needs a token");
    expect(errorMessageOf({ error: { code: 400, description: "`top_p` must be between 0 and 1" } })).toBe(
      "`top_p` must be between 0 and 1",
    );
    expect(errorMessageOf("plain")).toBeNull();
  });
});
