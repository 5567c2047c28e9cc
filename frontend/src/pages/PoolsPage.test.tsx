import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { decodeAgentsSnapshot, decodeDesiredState } from "../api/decode";
import { ApiError, type ManagementClient } from "../api/managementClient";
import shapes from "../api/serverShapes.json";
import type { AgentsSnapshot, ModelPool, ModelPoolSettings } from "../api/types";
import { PoolsPage } from "./PoolsPage";

function pool(name: string, patch: Partial<ModelPool> = {}): ModelPool {
  return {
    name,
    desired_state: decodeDesiredState(shapes.default_desired_state),
    aliases: [],
    min_agents: 0,
    max_agents: null,
    keep_alive_s: 300,
    max_concurrency: null,
    agents: [],
    requests_in_flight: 0,
    buffered_requests: 0,
    deleting: false,
    placements: [],
    ...patch,
  };
}

// A balancer of pools in memory, behind the methods the page calls.
function fakeClient(initial: ModelPool[], refuse: { put?: string; delete?: string } = {}) {
  let pools = initial;
  const putPool = vi.fn(async (name: string, settings: ModelPoolSettings) => {
    if (refuse.put !== undefined) throw new ApiError(409, refuse.put);
    const made = pool(name, { ...settings, desired_state: decodeDesiredState(shapes.default_desired_state) });
    const created = !pools.some((existing) => existing.name === name);
    pools = [...pools.filter((existing) => existing.name !== name), made];
    return { created, pool: made };
  });
  const deletePool = vi.fn(async (name: string) => {
    if (refuse.delete !== undefined) throw new ApiError(409, refuse.delete);
    pools = pools.filter((existing) => existing.name !== name);
  });
  // agent-1, named gpu-box, among others.
  const agents = decodeAgentsSnapshot(shapes.agents);
  const client = {
    pools: async () => ({ pools }),
    putPool,
    deletePool,
    followAgents: async (onSnapshot: (snapshot: AgentsSnapshot) => void) => onSnapshot(agents),
  };
  return { client: client as unknown as ManagementClient, putPool, deletePool };
}

describe("PoolsPage", () => {
  it("shows the latest placements, newest first, with the agent's name and the reason", async () => {
    const moved = (at: number, to: string, reason: string) => ({
      at,
      agent_id: "agent-1",
      agent_name: "gpu-box",
      from: "default",
      to,
      reason,
    });
    const { client } = fakeClient([
      pool("default"),
      pool("qwen", { placements: [moved(100, "qwen", "waiting_requests")] }),
      pool("llama", { placements: [moved(200, "llama", "min_agents")] }),
    ]);
    render(<PoolsPage client={client} />);
    const items = within(await screen.findByTestId("placements")).getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual([
      expect.stringMatching(/gpu-box moved from default to llama \(to reach its min_agents\)/),
      expect.stringMatching(/gpu-box moved from default to qwen \(for its waiting requests\)/),
    ]);
  });

  it("lists each pool with its limits, its agents by name and a deleting badge", async () => {
    const { client } = fakeClient([
      pool("default", { agents: ["agent-1"], requests_in_flight: 2, buffered_requests: 1 }),
      pool("old", { aliases: ["gpt-4o"], max_agents: 2, max_concurrency: 4, deleting: true }),
    ]);
    render(<PoolsPage client={client} />);
    const rows = await screen.findAllByTestId("pool-row");
    expect(rows).toHaveLength(2);
    const [first, second] = rows as [HTMLElement, HTMLElement];
    expect(first).toHaveTextContent("0 to no limit");
    expect(await within(first).findByText("gpu-box")).toBeInTheDocument();
    expect(first).toHaveTextContent("2 in flight, 1 buffered");
    expect(within(first).queryByRole("button", { name: "Delete" })).toBeNull();
    expect(second).toHaveTextContent("gpt-4o");
    expect(second).toHaveTextContent("0 to 2");
    expect(within(second).getByText("Deleting")).toBeInTheDocument();
  });

  it("creates a pool from the form", async () => {
    const { client, putPool } = fakeClient([pool("default")]);
    const { container } = render(<PoolsPage client={client} />);
    fireEvent.click(await screen.findByRole("button", { name: "New pool" }));
    const field = (name: string) => container.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
    fireEvent.change(field("pool-name"), { target: { value: "other" } });
    fireEvent.change(field("pool-aliases"), { target: { value: "a, b" } });
    fireEvent.change(field("pool-maxConcurrency"), { target: { value: "4" } });
    fireEvent.change(field("model-local-path"), { target: { value: "/models/other.gguf" } });
    fireEvent.click(screen.getByRole("button", { name: "Create pool" }));
    await waitFor(() => expect(putPool).toHaveBeenCalledTimes(1));
    expect(putPool).toHaveBeenCalledWith("other", {
      desired_state: { model: { LocalToAgent: "/models/other.gguf" } },
      aliases: ["a", "b"],
      min_agents: 0,
      max_agents: null,
      keep_alive_s: 300,
      max_concurrency: 4,
    });
    expect(await screen.findByTestId("pools-notice")).toHaveTextContent("Created the pool other.");
    await waitFor(() => expect(screen.getAllByTestId("pool-row")).toHaveLength(2));
  });

  it("shows the balancer's reason when it refuses a pool", async () => {
    const { client } = fakeClient([pool("default")], { put: "the name 'x' already selects the model pool 'default'" });
    const { container } = render(<PoolsPage client={client} />);
    fireEvent.click(await screen.findByRole("button", { name: "New pool" }));
    fireEvent.change(container.querySelector('input[name="pool-name"]')!, { target: { value: "x" } });
    fireEvent.change(container.querySelector('input[name="model-local-path"]')!, { target: { value: "/m.gguf" } });
    fireEvent.click(screen.getByRole("button", { name: "Create pool" }));
    expect(await screen.findByTestId("pool-save-error")).toHaveTextContent("already selects the model pool 'default'");
  });

  it("deletes a pool only once the operator confirms", async () => {
    const { client, deletePool } = fakeClient([pool("default"), pool("other")]);
    render(<PoolsPage client={client} />);
    const rows = await screen.findAllByTestId("pool-row");
    const other = rows[1]!;
    fireEvent.click(within(other).getByRole("button", { name: "Delete" }));
    fireEvent.click(within(other).getByRole("button", { name: "Keep" }));
    expect(deletePool).not.toHaveBeenCalled();
    fireEvent.click(within(other).getByRole("button", { name: "Delete" }));
    fireEvent.click(within(other).getByRole("button", { name: "Yes, delete" }));
    await waitFor(() => expect(deletePool).toHaveBeenCalledWith("other"));
    await waitFor(() => expect(screen.getAllByTestId("pool-row")).toHaveLength(1));
  });
});
