import { useState } from "react";

import type { AgentIssue, AgentSnapshot, ChatTemplate, ModelMetadata } from "../api/types";
import { baseName, formatBytes, humanize } from "../format";
import { AgentViewer } from "./AgentViewer";
import { SlotsBar } from "./SlotsBar";
import { StatusBadge } from "./StatusBadge";

export interface AgentLoaders {
  loadMetadata: (agentId: string) => Promise<ModelMetadata | null>;
  loadChatTemplateOverride: (agentId: string) => Promise<ChatTemplate | null>;
}

function IssueLine({ issue }: { issue: AgentIssue }) {
  if (typeof issue === "string") return <li>{humanize(issue)}</li>;
  return (
    <>
      {Object.entries(issue).map(([variant, detail]) => (
        <li key={variant}>
          <strong>{humanize(variant)}</strong>
          {detail !== null && (
            <code className="issue-detail">{typeof detail === "string" ? detail : JSON.stringify(detail)}</code>
          )}
        </li>
      ))}
    </>
  );
}

function Download({ agent }: { agent: AgentSnapshot }) {
  const active = agent.download_filename !== null || agent.download_total > 0 || agent.download_indeterminate;
  if (!active) return null;
  const percent = agent.download_total > 0 ? Math.min(100, (100 * agent.download_current) / agent.download_total) : 0;
  return (
    <div className="download" data-testid="download">
      <div className="field-label">Downloading {agent.download_filename ?? "the model"}</div>
      {agent.download_indeterminate ? (
        <progress aria-label="download progress" />
      ) : (
        <progress aria-label="download progress" max={100} value={percent} />
      )}
      <div className="muted">
        {formatBytes(agent.download_current)}
        {agent.download_total > 0 ? ` of ${formatBytes(agent.download_total)} (${percent.toFixed(0)}%)` : ""}
      </div>
    </div>
  );
}

type Viewer = "metadata" | "template" | null;

export function AgentCard({ agent, loaders }: { agent: AgentSnapshot; loaders: AgentLoaders }) {
  const [viewer, setViewer] = useState<Viewer>(null);
  const toggle = (which: Viewer) => setViewer((current) => (current === which ? null : which));
  return (
    <article className="card agent" data-testid="agent" data-agent-id={agent.id}>
      <header className="agent-header">
        <div>
          <h3 className="agent-name">{agent.name ?? "unnamed agent"}</h3>
          <div className="muted mono small">{agent.id}</div>
        </div>
        <StatusBadge status={agent.state_application_status} />
      </header>
      <SlotsBar
        processing={agent.slots_processing}
        total={agent.slots_total}
        desired={agent.desired_slots_total}
      />
      <div className="agent-model">
        <span className="field-label">Model</span>
        {agent.model_path ? (
          <span className="mono" title={agent.model_path} data-testid="model-file">
            {baseName(agent.model_path)}
          </span>
        ) : (
          <span className="muted">none loaded</span>
        )}
        {agent.uses_chat_template_override && <span className="tag">chat template override</span>}
      </div>
      {(agent.circuit_breaker === "Open" || agent.circuit_breaker === "HalfOpen") && (
        <div className="callout warning small" data-testid="circuit-breaker">
          Circuit breaker {agent.circuit_breaker === "Open" ? "open" : "half open"}: after repeated failures this
          agent {agent.circuit_breaker === "Open" ? "gets no requests for a while" : "gets one trial request"}.
        </div>
      )}
      <Download agent={agent} />
      {agent.issues.length > 0 && (
        <div className="issues" role="alert">
          <div className="field-label">Issues</div>
          <ul>
            {agent.issues.map((issue, index) => (
              <IssueLine key={index} issue={issue} />
            ))}
          </ul>
        </div>
      )}
      <div className="agent-actions">
        <button
          type="button"
          className={viewer === "metadata" ? "button-secondary active" : "button-secondary"}
          onClick={() => toggle("metadata")}
          disabled={agent.model_path === null}
        >
          Model metadata
        </button>
        <button
          type="button"
          className={viewer === "template" ? "button-secondary active" : "button-secondary"}
          onClick={() => toggle("template")}
          disabled={agent.model_path === null}
        >
          Chat template
        </button>
      </div>
      {viewer !== null && <AgentViewer agent={agent} which={viewer} loaders={loaders} />}
    </article>
  );
}
