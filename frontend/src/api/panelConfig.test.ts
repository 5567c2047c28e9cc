import { describe, expect, it } from "vitest";

import { addAgentCommand } from "../pages/DashboardView";
import { decodePanelConfig } from "./decode";
import { apiLocations } from "./panelConfig";

const config = {
  management_addr: "0.0.0.0:8060",
  inference_addr: "127.0.0.1:8061",
  compat_openai_addr: null,
  max_buffered_requests: 30,
  buffered_request_timeout_ms: 10000,
};

describe("apiLocations", () => {
  it("calls the APIs over http and ws without TLS", () => {
    const locations = apiLocations(decodePanelConfig(config), "panel.host");
    expect(locations.managementUrl).toBe("http://panel.host:8060");
    expect(locations.inferenceSocketUrl).toBe("ws://127.0.0.1:8061/api/v1/inference_socket");
  });

  it("calls the APIs over https and wss when the balancer serves TLS", () => {
    const locations = apiLocations(decodePanelConfig({ ...config, tls: true }), "panel.host");
    expect(locations.managementUrl).toBe("https://panel.host:8060");
    expect(locations.inferenceUrl).toBe("https://127.0.0.1:8061");
    expect(locations.inferenceSocketUrl).toBe("wss://127.0.0.1:8061/api/v1/inference_socket");
    expect(addAgentCommand(locations.managementUrl)).toContain("--management-addr wss://panel.host:8060");
  });
});
