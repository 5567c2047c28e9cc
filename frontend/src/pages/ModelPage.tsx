import { useCallback, useEffect, useState } from "react";

import type { ManagementClient } from "../api/managementClient";
import type { AgentSnapshot, BalancerDesiredState } from "../api/types";
import { ModelEditor } from "../components/ModelEditor";
import { SlotsBar } from "../components/SlotsBar";
import { StatusBadge } from "../components/StatusBadge";
import { baseName, humanize } from "../format";
import { useAgents } from "../hooks/useManagementStreams";
import { formOf } from "../model/desiredStateForm";

type Loaded = { kind: "loading" } | { kind: "error"; message: string } | { kind: "loaded"; state: BalancerDesiredState; version: number };

function Reconciliation({ agents, savedAt }: { agents: AgentSnapshot[] | null; savedAt: Date | null }) {
  const applied = agents?.filter((agent) => agent.state_application_status === "Applied").length ?? 0;
  return (
    <section className="card reconciliation" data-testid="reconciliation" aria-labelledby="reconciliation-title">
      <h2 id="reconciliation-title">Agents applying the desired state</h2>
      {agents === null ? (
        <p className="muted">Loading agents…</p>
      ) : agents.length === 0 ? (
        <p className="muted">No agents are connected; the state is applied by each agent that joins.</p>
      ) : (
        <>
          <p className="muted small">
            {applied} of {agents.length} applied{savedAt ? `, since the save at ${savedAt.toLocaleTimeString()}` : ""}.
          </p>
          <table className="reconciliation-table">
            <tbody>
              {agents.map((agent) => (
                <tr key={agent.id} data-testid="reconciliation-agent">
                  <td>{agent.name ?? agent.id}</td>
                  <td>
                    <StatusBadge status={agent.state_application_status} />
                  </td>
                  <td>
                    <SlotsBar processing={agent.slots_processing} total={agent.slots_total} desired={agent.desired_slots_total} />
                  </td>
                  <td className="mono small" title={agent.model_path ?? ""}>
                    {agent.model_path ? baseName(agent.model_path) : "no model"}
                  </td>
                  <td className="small">
                    {agent.issues.map((issue) => humanize(typeof issue === "string" ? issue : Object.keys(issue).join(", "))).join("; ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function ModelPage({ client }: { client: ManagementClient }) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const agents = useAgents(client);
  useEffect(() => {
    client.desiredState().then(
      (state) => setLoaded({ kind: "loaded", state, version: 0 }),
      (error: unknown) => setLoaded({ kind: "error", message: error instanceof Error ? error.message : String(error) }),
    );
  }, [client]);
  const save = useCallback(
    async (state: BalancerDesiredState) => {
      await client.putDesiredState(state);
      setSavedAt(new Date());
    },
    [client],
  );
  return (
    <div className="page">
      <p className="lead">
        The desired state of the cluster: every agent loads this model with these parameters. Saving it makes the agents
        reconcile to it, as shown below the form.
      </p>
      {loaded.kind === "loading" && <p className="muted">Loading the desired state…</p>}
      {loaded.kind === "error" && <div className="error-box">Cannot load the desired state: {loaded.message}</div>}
      {loaded.kind === "loaded" && <ModelEditor key={loaded.version} initial={formOf(loaded.state)} onSave={save} />}
      <Reconciliation agents={agents.snapshot?.agents ?? null} savedAt={savedAt} />
    </div>
  );
}
