// Says, on every page, when this balancer cannot reach the cluster's state database (etcd):
// it serves with the last state it saw and refuses changes until etcd answers again.

import { useEffect, useState } from "react";

import type { ManagementClient } from "../api/managementClient";
import type { ClusterView } from "../api/types";

const POLL_MS = 3000;

export function ClusterBannerView({ cluster }: { cluster: ClusterView | null }) {
  if (cluster === null || cluster.state_database.reachable) return null;
  return (
    <div className="callout warning" role="alert" data-testid="state-database-unreachable">
      <strong>The state database ({cluster.state_database.kind}) cannot be reached.</strong> This balancer
      serves with the last state it saw; changes to the model and the pools are refused until it answers
      again.
      {cluster.state_database.error && <div className="muted">{cluster.state_database.error}</div>}
    </div>
  );
}

export function ClusterBanner({ client }: { client: ManagementClient }) {
  const [cluster, setCluster] = useState<ClusterView | null>(null);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const view = await client.cluster();
        if (!stopped) setCluster(view);
      } catch {
        // The balancer itself is unreachable or refused: the pages say so.
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client]);
  return <ClusterBannerView cluster={cluster} />;
}
