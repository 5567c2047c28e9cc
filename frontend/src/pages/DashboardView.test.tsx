import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { decodeAgentsSnapshot, decodeDesiredState } from "../api/decode";
import { apiLocations } from "../api/panelConfig";
import shapes from "../api/serverShapes.json";
import type { AgentsSnapshot, BalancerDesiredState } from "../api/types";
import { DashboardView } from "./DashboardView";

const locations = apiLocations(
  {
    management_addr: "0.0.0.0:8060",
    inference_addr: "127.0.0.1:8061",
    compat_openai_addr: null,
    max_buffered_requests: 30,
    buffered_request_timeout_ms: 10000,
    tls: false,
  },
  "panel.host",
);

const loaders = {
  loadMetadata: async () => ({ metadata: { "general.name": "SmolLM2" } }),
  loadChatTemplateOverride: async () => null,
};

function renderDashboard(agents: AgentsSnapshot | null, desiredState: BalancerDesiredState | null = null) {
  return render(
    <DashboardView
      locations={locations}
      panelOrigin="http://panel.host:8062"
      agents={agents}
      agentsState="live"
      buffered={{ buffered_requests_current: 2 }}
      desiredState={desiredState}
      loaders={loaders}
    />,
  );
}

describe("DashboardView", () => {
  it("tells what to do in an empty cluster without a model", () => {
    renderDashboard({ agents: [] }, decodeDesiredState(shapes.default_desired_state));
    expect(screen.getByTestId("empty-cluster")).toHaveTextContent("No agents are connected");
    expect(screen.getByTestId("no-model")).toHaveTextContent("Model page");
    // The management API listens on every interface: the command uses the host the browser knows.
    expect(screen.getByTestId("add-agent-command").textContent).toBe(
      "python -m paddler agent \\\n  --management-addr panel.host:8060 \\\n  --slots 4 --name my-agent",
    );
  });

  it("shows the buffered requests against their maximum and the timeout", () => {
    renderDashboard({ agents: [] });
    expect(screen.getByTestId("buffered-requests")).toHaveTextContent("2 / 30");
    expect(screen.getByText(/each waits up to 10 s/)).toBeInTheDocument();
  });

  it("renders each agent with its badge, slots, download and issues", () => {
    const snapshot = decodeAgentsSnapshot(shapes.agents);
    const [first, second] = snapshot.agents;
    if (first === undefined || second === undefined) throw new Error("the fixture has two agents");
    const serving = { ...first, slots_total: 4, slots_processing: 1, model_path: "/models/smollm2.gguf", state_application_status: "Applied" as const };
    renderDashboard({ agents: [serving, second] });
    const cards = screen.getAllByTestId("agent");
    expect(cards).toHaveLength(2);
    const [servingCard, retryingCard] = cards as [HTMLElement, HTMLElement];
    expect(within(servingCard).getByText("gpu-box")).toBeInTheDocument();
    expect(within(servingCard).getByTestId("status-badge")).toHaveTextContent("Applied");
    expect(within(servingCard).getByTestId("slots")).toHaveTextContent("1 busy / 4 slots");
    expect(within(servingCard).getByTestId("model-file")).toHaveTextContent("smollm2.gguf");
    expect(within(retryingCard).getByTestId("status-badge")).toHaveTextContent("Retrying");
    expect(within(retryingCard).getByTestId("slots")).toHaveTextContent("0 busy / 0 slots (desired 2)");
    expect(within(retryingCard).getByTestId("download")).toHaveTextContent("1.0 MB of 4.0 MB (25%)");
    expect(within(retryingCard).getByRole("alert")).toHaveTextContent("Model cannot be loaded");
    expect(within(retryingCard).getByRole("alert")).toHaveTextContent("/models/missing.gguf");
  });

  it("names an agent that needs the operator's help", () => {
    const agent = decodeAgentsSnapshot(shapes.agents).agents[0];
    if (agent === undefined) throw new Error("the fixture has an agent");
    renderDashboard({ agents: [{ ...agent, state_application_status: "AttemptedAndNotAppliable" }] });
    expect(screen.getByTestId("status-badge")).toHaveTextContent("Needs your help");
  });
});
