import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { decodeClusterView } from "../api/decode";
import { ClusterBannerView } from "./ClusterBanner";

const reachable = {
  balancer: "127.0.0.1:8060 (ab12cd34)",
  state_database: { kind: "etcd", reachable: true, error: null, endpoints: ["127.0.0.1:2379"] },
  leadership: { elected: true, is_leader: true, leader: "127.0.0.1:8060 (ab12cd34)", ttl_s: 5 },
};

describe("ClusterBanner", () => {
  it("says nothing while the state database answers", () => {
    render(<ClusterBannerView cluster={decodeClusterView(reachable)} />);
    expect(screen.queryByTestId("state-database-unreachable")).toBeNull();
  });

  it("says that etcd cannot be reached, and why", () => {
    const down = {
      ...reachable,
      state_database: { kind: "etcd", reachable: false, error: "etcd is unreachable (127.0.0.1:2379: refused)" },
    };
    render(<ClusterBannerView cluster={decodeClusterView(down)} />);
    const banner = screen.getByTestId("state-database-unreachable");
    expect(banner.textContent).toContain("The state database (etcd) cannot be reached.");
    expect(banner.textContent).toContain("127.0.0.1:2379: refused");
  });
});
