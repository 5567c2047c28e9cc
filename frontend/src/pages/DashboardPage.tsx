import { useEffect, useMemo, useState } from "react";

import type { ManagementClient } from "../api/managementClient";
import type { ApiLocations } from "../api/panelConfig";
import type { BalancerDesiredState } from "../api/types";
import type { AgentLoaders } from "../components/AgentCard";
import { useAgents, useBufferedRequests } from "../hooks/useManagementStreams";
import { DashboardView } from "./DashboardView";

export function DashboardPage({ client, locations }: { client: ManagementClient; locations: ApiLocations }) {
  const agents = useAgents(client);
  const buffered = useBufferedRequests(client);
  const [desiredState, setDesiredState] = useState<BalancerDesiredState | null>(null);
  useEffect(() => {
    client.desiredState().then(setDesiredState, () => setDesiredState(null));
  }, [client]);
  const loaders = useMemo<AgentLoaders>(
    () => ({
      loadMetadata: (id) => client.modelMetadata(id),
      loadChatTemplateOverride: (id) => client.chatTemplateOverride(id),
    }),
    [client],
  );
  return (
    <DashboardView
      locations={locations}
      panelOrigin={window.location.origin}
      agents={agents.snapshot}
      agentsState={agents.state}
      buffered={buffered.snapshot}
      desiredState={desiredState}
      loaders={loaders}
    />
  );
}
