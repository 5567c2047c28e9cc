// The dashboard drawn from snapshots alone (the page feeds it live ones), so
// tests can render any state of a cluster.

import type { StreamState } from "../api/managementClient";
import type { ApiLocations } from "../api/panelConfig";
import type { AgentsSnapshot, BalancerDesiredState, BufferedRequestsSnapshot } from "../api/types";
import { AgentCard, type AgentLoaders } from "../components/AgentCard";
import { CopyableCommand } from "../components/CopyableCommand";

export interface DashboardViewProps {
  locations: ApiLocations;
  panelOrigin: string;
  agents: AgentsSnapshot | null;
  agentsState: StreamState;
  buffered: BufferedRequestsSnapshot | null;
  desiredState: BalancerDesiredState | null;
  loaders: AgentLoaders;
}

function StreamNote({ state }: { state: StreamState }) {
  if (state === "live") return <span className="live-dot" title="Live" aria-label="live" />;
  return <span className="muted small">{state === "connecting" ? "connecting…" : "reconnecting…"}</span>;
}

function Addresses({ locations, panelOrigin }: { locations: ApiLocations; panelOrigin: string }) {
  const rows: [string, string][] = [
    ["Inference API", locations.inferenceUrl],
    ["Management API", locations.managementUrl],
  ];
  const scheme = locations.config.tls ? "https" : "http";
  if (locations.config.compat_openai_addr) rows.push(["OpenAI API", `${scheme}://${locations.config.compat_openai_addr}/v1`]);
  rows.push(["This panel", panelOrigin]);
  return (
    <section className="card" aria-labelledby="addresses-title">
      <h2 id="addresses-title">Addresses</h2>
      <dl className="addresses">
        {rows.map(([label, url]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd className="mono">{url}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function BufferedRequests({ locations, buffered }: { locations: ApiLocations; buffered: BufferedRequestsSnapshot | null }) {
  const max = locations.config.max_buffered_requests;
  const current = buffered?.buffered_requests_current;
  const timeout = locations.config.buffered_request_timeout_ms / 1000;
  return (
    <section className="card" aria-labelledby="buffered-title">
      <h2 id="buffered-title">Buffered requests</h2>
      <div className="big-number" data-testid="buffered-requests">
        {current ?? "–"} <span className="muted">/ {max}</span>
      </div>
      <p className="muted small">
        {max === 0
          ? "Buffering is off: a request that finds no free slot is refused at once."
          : `Requests waiting for a free slot; each waits up to ${timeout} s.`}
      </p>
    </section>
  );
}

export function addAgentCommand(managementUrl: string): string {
  // Over TLS the agent dials wss:// (and needs --tls-ca for a private CA).
  const address = managementUrl.replace(/^http:\/\//, "").replace(/^https:\/\//, "wss://");
  return `python -m paddler agent \\\n  --management-addr ${address} \\\n  --slots 4 --name my-agent`;
}

function AddAgent({ locations }: { locations: ApiLocations }) {
  const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(locations.managementUrl);
  return (
    <section className="card" aria-labelledby="add-agent-title">
      <h2 id="add-agent-title">How to add an agent</h2>
      <p>On a machine with the model (or that can download it), with paddler installed, run:</p>
      <CopyableCommand command={addAgentCommand(locations.managementUrl)} />
      <p className="muted small">
        <code>--slots</code> is how many requests it serves at once.
        {loopback &&
          " The management API listens on a loopback address: agents on other machines need the balancer's --management-addr on a reachable interface."}
      </p>
    </section>
  );
}

export function DashboardView(props: DashboardViewProps) {
  const { locations, agents, desiredState } = props;
  const noModel = desiredState !== null && desiredState.model === "None";
  const agentList = agents?.agents ?? [];
  return (
    <div className="page">
      <div className="grid-3">
        <Addresses locations={locations} panelOrigin={props.panelOrigin} />
        <BufferedRequests locations={locations} buffered={props.buffered} />
        <AddAgent locations={locations} />
      </div>
      {noModel && (
        <div className="callout" data-testid="no-model">
          No model is set, so agents have nothing to load. Choose one on the <a href="#/model">Model page</a>.
        </div>
      )}
      <section aria-labelledby="agents-title">
        <div className="section-title">
          <h2 id="agents-title">Agents {agents !== null && <span className="count">{agentList.length}</span>}</h2>
          <StreamNote state={props.agentsState} />
        </div>
        {agents === null ? (
          <p className="muted">Loading agents…</p>
        ) : agentList.length === 0 ? (
          <div className="callout" data-testid="empty-cluster">
            <strong>No agents are connected.</strong> Start one with the command in “How to add an agent” above; it
            connects to this balancer, loads the desired model and shows up here.
          </div>
        ) : (
          <div className="agents">
            {agentList.map((agent) => (
              <AgentCard key={agent.id} agent={agent} loaders={props.loaders} />
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
