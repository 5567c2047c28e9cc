// Model pools: each a named desired state with aliases and limits, and the
// agents the balancer has placed in it. There is no SSE stream of pools, so
// the list is polled.

import { useCallback, useEffect, useState } from "react";

import type { ManagementClient } from "../api/managementClient";
import type { AgentDesiredModel, AgentSnapshot, ModelPool, ModelPoolSettings, PoolPlacement } from "../api/types";
import { PoolEditor } from "../components/PoolEditor";
import { baseName } from "../format";
import { useAgents } from "../hooks/useManagementStreams";
import { DEFAULT_POOL } from "../model/poolForm";

const REFRESH_MS = 2000;

type Listed = { kind: "loading" } | { kind: "error"; message: string; pools: ModelPool[] | null } | { kind: "loaded"; pools: ModelPool[] };

// Which editor is open: none, a new pool, or an existing one as it was when
// Edit was clicked (the list's refreshes do not reset the form).
type Editing = { kind: "closed" } | { kind: "new" } | { kind: "pool"; pool: ModelPool };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function modelLabel(model: AgentDesiredModel): string {
  if (model === "None") return "no model";
  if ("LocalToAgent" in model) return baseName(model.LocalToAgent);
  if ("Url" in model) return baseName(model.Url.url);
  return `${model.HuggingFace.repo_id}/${model.HuggingFace.filename}`;
}

function limit(value: number | null): string {
  return value === null ? "no limit" : String(value);
}

function usePools(client: ManagementClient): { listed: Listed; refresh: () => Promise<void> } {
  const [listed, setListed] = useState<Listed>({ kind: "loading" });
  const refresh = useCallback(async () => {
    try {
      const snapshot = await client.pools();
      setListed({ kind: "loaded", pools: snapshot.pools });
    } catch (error) {
      // Keep showing the last list; say that it is stale.
      setListed((previous) => ({
        kind: "error",
        message: messageOf(error),
        pools: previous.kind === "loading" ? null : previous.pools,
      }));
    }
  }, [client]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  return { listed, refresh };
}

function PoolRow({
  pool,
  agentNames,
  onEdit,
  onDelete,
}: {
  pool: ModelPool;
  agentNames: Map<string, string>;
  onEdit: () => void;
  onDelete: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const remove = async () => {
    setFailure(null);
    try {
      await onDelete();
      setConfirming(false);
    } catch (error) {
      setFailure(messageOf(error));
    }
  };
  return (
    <tr data-testid="pool-row" data-pool={pool.name}>
      <td>
        <div className="pool-name">
          <strong className="mono">{pool.name}</strong>
          {pool.deleting && (
            <span className="badge badge-warning" title="Deleted: it drains its requests, then goes.">
              Deleting
            </span>
          )}
        </div>
        {pool.aliases.length > 0 && (
          <div className="small muted" data-testid="pool-aliases">
            {pool.aliases.map((alias) => (
              <span key={alias} className="tag mono">
                {alias}
              </span>
            ))}
          </div>
        )}
      </td>
      <td className="mono small" title={JSON.stringify(pool.desired_state.model)}>
        {modelLabel(pool.desired_state.model)}
      </td>
      <td className="small">
        {pool.min_agents} to {limit(pool.max_agents)}
      </td>
      <td className="small">{pool.keep_alive_s} s</td>
      <td className="small">{limit(pool.max_concurrency)}</td>
      <td className="small" data-testid="pool-agents">
        {pool.agents.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          pool.agents.map((id) => (
            <span key={id} className="tag" title={id}>
              {agentNames.get(id) ?? id}
            </span>
          ))
        )}
      </td>
      <td className="small" data-testid="pool-requests">
        {pool.requests_in_flight} in flight, {pool.buffered_requests} buffered
      </td>
      <td>
        <div className="pool-actions">
          <button type="button" className="button-secondary small" onClick={onEdit} disabled={pool.deleting}>
            Edit
          </button>
          {pool.name !== DEFAULT_POOL && !pool.deleting && !confirming && (
            <button type="button" className="button-secondary small" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
          {confirming && (
            <span className="pool-confirm" role="group" aria-label={`Delete ${pool.name}?`}>
              <span className="small">Delete {pool.name}?</span>
              <button type="button" className="button-danger small" onClick={() => void remove()}>
                Yes, delete
              </button>
              <button type="button" className="button-secondary small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          )}
        </div>
        {failure !== null && (
          <div className="error-box inline small" role="alert" data-testid="pool-delete-error">
            {failure}
          </div>
        )}
      </td>
    </tr>
  );
}

const REASONS: { [reason: string]: string } = {
  min_agents: "to reach its min_agents",
  waiting_requests: "for its waiting requests",
  pool_deleted: "its pool was deleted",
};

// The latest decisions across pools, newest first.
function latestPlacements(pools: ModelPool[], count: number): PoolPlacement[] {
  return pools
    .flatMap((pool) => pool.placements)
    .sort((a, b) => b.at - a.at)
    .slice(0, count);
}

function PlacementLog({ pools }: { pools: ModelPool[] }) {
  const placements = latestPlacements(pools, 10);
  return (
    <section className="card" aria-labelledby="placements-title">
      <h2 id="placements-title">Latest placements</h2>
      {placements.length === 0 ? (
        <p className="muted">No agent has been moved between pools yet.</p>
      ) : (
        <ul className="placements" data-testid="placements">
          {placements.map((placement) => (
            <li key={`${placement.at}-${placement.agent_id}`} className="small">
              <span className="mono">{new Date(placement.at * 1000).toLocaleTimeString()}</span> agent{" "}
              <strong>{placement.agent_name ?? placement.agent_id}</strong> moved from{" "}
              <span className="mono">{placement.from ?? "no pool"}</span> to{" "}
              <span className="mono">{placement.to}</span> ({REASONS[placement.reason] ?? placement.reason})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function namesOf(agents: AgentSnapshot[] | null): Map<string, string> {
  return new Map((agents ?? []).map((agent) => [agent.id, agent.name ?? agent.id]));
}

export function PoolsPage({ client }: { client: ManagementClient }) {
  const { listed, refresh } = usePools(client);
  const agents = useAgents(client);
  const [editing, setEditing] = useState<Editing>({ kind: "closed" });
  const [notice, setNotice] = useState<string | null>(null);
  const pools = listed.kind === "loading" ? null : listed.pools;
  const agentNames = namesOf(agents.snapshot?.agents ?? null);

  const save = async (name: string, settings: ModelPoolSettings) => {
    const { created } = await client.putPool(name, settings);
    setEditing({ kind: "closed" });
    setNotice(created ? `Created the pool ${name}.` : `Saved the pool ${name}.`);
    await refresh();
  };
  const remove = async (name: string) => {
    await client.deletePool(name);
    setNotice(`Deleted the pool ${name}; it goes once its requests have drained.`);
    await refresh();
  };

  return (
    <div className="page">
      <p className="lead">
        Each pool is a model with its own desired state; an OpenAI request picks one by its <code>model</code> (the
        pool's name or an alias). Agents started with <code>--pool NAME</code> stay in that pool; the balancer moves the
        others between pools by demand. The <code>default</code> pool is the one the Model page edits.
      </p>
      <div className="save-bar">
        <button
          type="button"
          className="button-primary"
          onClick={() => {
            setNotice(null);
            setEditing({ kind: "new" });
          }}
          disabled={editing.kind === "new"}
        >
          New pool
        </button>
        {notice !== null && (
          <span className="success-text" role="status" data-testid="pools-notice">
            {notice}
          </span>
        )}
      </div>
      {editing.kind !== "closed" && (
        <PoolEditor
          key={editing.kind === "new" ? "" : editing.pool.name}
          editing={editing.kind === "new" ? null : editing.pool}
          onSave={save}
          onClose={() => setEditing({ kind: "closed" })}
        />
      )}
      {listed.kind === "error" && (
        <div className="error-box" role="alert" data-testid="pools-error">
          Cannot load the pools: {listed.message}
        </div>
      )}
      <section className="card" aria-labelledby="pools-title">
        <h2 id="pools-title">
          Pools{pools !== null && <span className="count">{pools.length}</span>}
        </h2>
        {pools === null ? (
          <p className="muted">Loading the pools…</p>
        ) : (
          <table className="pools-table" data-testid="pools">
            <thead>
              <tr>
                <th>Name and aliases</th>
                <th>Model</th>
                <th>Agents (min to max)</th>
                <th>Keep alive</th>
                <th>Max concurrency</th>
                <th>Its agents</th>
                <th>Requests</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pools.map((pool) => (
                <PoolRow
                  key={pool.name}
                  pool={pool}
                  agentNames={agentNames}
                  onEdit={() => {
                    setNotice(null);
                    setEditing({ kind: "pool", pool });
                  }}
                  onDelete={() => remove(pool.name)}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {pools !== null && <PlacementLog pools={pools} />}
    </div>
  );
}
