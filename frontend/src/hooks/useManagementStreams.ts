// Live snapshots from the management API's SSE streams, for as long as the
// component that uses them is mounted.

import { useEffect, useState } from "react";

import type { ManagementClient, StreamState } from "../api/managementClient";
import type { AgentsSnapshot, BufferedRequestsSnapshot } from "../api/types";

export interface Live<T> {
  snapshot: T | null;
  state: StreamState;
}

export function useAgents(client: ManagementClient): Live<AgentsSnapshot> {
  const [live, setLive] = useState<Live<AgentsSnapshot>>({ snapshot: null, state: "connecting" });
  useEffect(() => {
    const abort = new AbortController();
    void client.followAgents(
      (snapshot) => setLive({ snapshot, state: "live" }),
      (state) => setLive((previous) => ({ ...previous, state })),
      abort.signal,
    );
    return () => abort.abort();
  }, [client]);
  return live;
}

export function useBufferedRequests(client: ManagementClient): Live<BufferedRequestsSnapshot> {
  const [live, setLive] = useState<Live<BufferedRequestsSnapshot>>({ snapshot: null, state: "connecting" });
  useEffect(() => {
    const abort = new AbortController();
    void client.followBufferedRequests(
      (snapshot) => setLive({ snapshot, state: "live" }),
      (state) => setLive((previous) => ({ ...previous, state })),
      abort.signal,
    );
    return () => abort.abort();
  }, [client]);
  return live;
}
