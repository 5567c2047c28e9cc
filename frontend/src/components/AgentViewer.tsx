// Per agent: its model's GGUF metadata, or the chat template it renders with
// (the override when it uses one, else the model's own from the metadata).

import { useEffect, useState } from "react";

import type { AgentSnapshot, JsonValue } from "../api/types";
import type { AgentLoaders } from "./AgentCard";

const MODEL_TEMPLATE_KEY = "tokenizer.chat_template";

type Loaded =
  | { kind: "loading" }
  | { kind: "error"; message: string }
  | { kind: "metadata"; entries: [string, JsonValue][] }
  | { kind: "template"; source: string; content: string | null };

function display(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function load(agent: AgentSnapshot, which: "metadata" | "template", loaders: AgentLoaders): Promise<Loaded> {
  if (which === "metadata") {
    const answer = await loaders.loadMetadata(agent.id);
    const entries = Object.entries(answer?.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return { kind: "metadata", entries };
  }
  if (agent.uses_chat_template_override) {
    const override = await loaders.loadChatTemplateOverride(agent.id);
    return { kind: "template", source: "The chat template override", content: override?.content ?? null };
  }
  const answer = await loaders.loadMetadata(agent.id);
  const own = answer?.metadata[MODEL_TEMPLATE_KEY];
  return { kind: "template", source: "The model's own chat template", content: own === undefined ? null : display(own) };
}

export function AgentViewer({
  agent,
  which,
  loaders,
}: {
  agent: AgentSnapshot;
  which: "metadata" | "template";
  loaders: AgentLoaders;
}) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });
  const [filter, setFilter] = useState("");
  useEffect(() => {
    let current = true;
    setLoaded({ kind: "loading" });
    load(agent, which, loaders).then(
      (result) => current && setLoaded(result),
      (error: unknown) => current && setLoaded({ kind: "error", message: String(error instanceof Error ? error.message : error) }),
    );
    return () => {
      current = false;
    };
    // Reloaded when the agent's model changes, not on every slot change.
  }, [agent.id, agent.model_path, agent.uses_chat_template_override, which, loaders]);

  if (loaded.kind === "loading") return <div className="viewer muted">Asking the agent…</div>;
  if (loaded.kind === "error") return <div className="viewer error-box">{loaded.message}</div>;
  if (loaded.kind === "template") {
    return (
      <div className="viewer" data-testid="chat-template-viewer">
        <div className="field-label">{loaded.source}</div>
        {loaded.content === null ? (
          <p className="muted">The agent has none.</p>
        ) : (
          <pre className="code-block">{loaded.content}</pre>
        )}
      </div>
    );
  }
  const needle = filter.trim().toLowerCase();
  const shown = loaded.entries.filter(([key]) => key.toLowerCase().includes(needle));
  return (
    <div className="viewer" data-testid="metadata-viewer">
      <input
        className="input"
        type="search"
        placeholder={`Filter ${loaded.entries.length} keys`}
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
      />
      {shown.length === 0 ? (
        <p className="muted">No metadata.</p>
      ) : (
        <table className="metadata">
          <tbody>
            {shown.map(([key, value]) => (
              <tr key={key}>
                <th className="mono">{key}</th>
                <td className="mono">
                  <div className="metadata-value">{display(value)}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
