// A chat over the inference socket: tokens stream in as they come, reasoning
// apart from the answer, a stop button that sends StopRespondingTo.

import {
  useCallback,
  useEffect,
  useRef,
  useState,
  type ChangeEvent,
  type ClipboardEvent,
  type DragEvent,
  type FormEvent,
  type KeyboardEvent,
} from "react";

import { InferenceSocket, newRequestId, type SocketState } from "../api/inferenceSocket";
import type { ApiLocations } from "../api/panelConfig";
import { storeInferenceKey, storedInferenceKey, withInferenceKey } from "../api/tokenStore";
import type { Usage } from "../api/types";
import { formatBytes } from "../format";
import {
  ACCEPTED_FORMATS,
  ACCEPTED_MEDIA_TYPES,
  MAX_IMAGE_BYTES,
  attachImage,
  type AttachedImage,
} from "../model/imageAttachment";
import { applyEvent, conversationImageBytes, conversationOf, type Turn } from "../model/promptConversation";

function UsageLine({ usage }: { usage: Usage }) {
  const parts = [`${usage.prompt_tokens} prompt tokens`];
  if (usage.cached_prompt_tokens > 0) parts.push(`${usage.cached_prompt_tokens} cached`);
  if (usage.input_image_tokens > 0) parts.push(`${usage.input_image_tokens} image tokens`);
  parts.push(`${usage.content_tokens} content tokens`);
  if (usage.reasoning_tokens > 0) parts.push(`${usage.reasoning_tokens} reasoning tokens`);
  if (usage.tool_call_tokens > 0) parts.push(`${usage.tool_call_tokens} tool call tokens`);
  return (
    <div className="usage" data-testid="usage">
      {parts.join(" · ")}
    </div>
  );
}

function TurnView({ turn, showThinking }: { turn: Turn; showThinking: boolean }) {
  if (turn.role === "user") {
    return (
      <div className="turn turn-user" data-testid="user-turn">
        {turn.image !== null && (
          <img className="turn-image" src={turn.image.dataUrl} alt={turn.image.name} data-testid="user-image" />
        )}
        {turn.content !== "" && <div className="bubble">{turn.content}</div>}
      </div>
    );
  }
  return (
    <div className="turn turn-assistant" data-testid="assistant-turn" data-status={turn.status}>
      {showThinking && turn.reasoning !== "" && (
        <details className="reasoning" open={turn.status === "streaming"} data-testid="reasoning">
          <summary>Thinking</summary>
          <div className="reasoning-text">{turn.reasoning}</div>
        </details>
      )}
      <div className="bubble">
        <span data-testid="assistant-content">{turn.content}</span>
        {turn.status === "streaming" && <span className="cursor" aria-hidden="true" />}
        {turn.content === "" && turn.status === "streaming" && <span className="muted">waiting for the first token…</span>}
        {turn.content === "" && turn.status !== "streaming" && <span className="muted">(no text)</span>}
      </div>
      {turn.status === "stopped" && (
        <div className="muted small" data-testid="stopped">
          Stopped.
        </div>
      )}
      {turn.status === "error" && (
        <div className="error-box" role="alert" data-testid="turn-error">
          {turn.error}
        </div>
      )}
      {turn.usage !== null && <UsageLine usage={turn.usage} />}
    </div>
  );
}

export function PromptPage({ locations }: { locations: ApiLocations }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [socketState, setSocketState] = useState<SocketState>({ kind: "connecting" });
  const [input, setInput] = useState("");
  const [system, setSystem] = useState("");
  const [maxTokens, setMaxTokens] = useState("256");
  const [thinking, setThinking] = useState(true);
  const [apiKey, setApiKey] = useState(() => storedInferenceKey() ?? "");
  const [attachment, setAttachment] = useState<AttachedImage | null>(null);
  const [attachmentError, setAttachmentError] = useState<string | null>(null);
  const socket = useRef<InferenceSocket | null>(null);
  const end = useRef<HTMLDivElement | null>(null);
  const fileInput = useRef<HTMLInputElement | null>(null);

  const connect = useCallback(() => {
    socket.current?.close();
    const created = new InferenceSocket(
      withInferenceKey(locations.inferenceSocketUrl),
      (event) => setTurns((current) => applyEvent(current, event)),
      (state) => {
        setSocketState(state);
        if (state.kind === "closed") {
          // Whatever was streaming will not finish on this socket.
          setTurns((current) =>
            current.map((turn) =>
              turn.status === "streaming" ? { ...turn, status: "error", error: "The inference socket closed mid-answer." } : turn,
            ),
          );
        }
      },
    );
    socket.current = created;
    created.connect();
  }, [locations.inferenceSocketUrl]);

  useEffect(() => {
    connect();
    return () => socket.current?.close();
  }, [connect]);

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [turns]);

  const streaming = turns.find((turn) => turn.status === "streaming") ?? null;
  const maxTokensValue = Number(maxTokens);
  const maxTokensError =
    Number.isInteger(maxTokensValue) && (maxTokensValue >= 1 || maxTokensValue === -1)
      ? null
      : "A whole number of at least 1 (or -1: no limit).";

  const attach = async (file: File) => {
    setAttachmentError(null);
    const result = await attachImage(file, file.name || "The pasted image", conversationImageBytes(turns));
    if (result.ok) setAttachment(result.image);
    else setAttachmentError(result.error);
  };

  const onFileChosen = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    // Emptied, so that choosing the same file again is a change too.
    event.target.value = "";
    if (file !== undefined) void attach(file);
  };

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const file = event.clipboardData.files[0];
    if (file === undefined) return;
    event.preventDefault();
    void attach(file);
  };

  const onDragOver = (event: DragEvent<HTMLFormElement>) => {
    if (event.dataTransfer.types.includes("Files")) event.preventDefault();
  };

  const onDrop = (event: DragEvent<HTMLFormElement>) => {
    const file = event.dataTransfer.files[0];
    if (file === undefined) return;
    event.preventDefault();
    void attach(file);
  };

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    const text = input.trim();
    if ((text === "" && attachment === null) || streaming !== null || maxTokensError !== null || socket.current === null) {
      return;
    }
    const id = newRequestId();
    const user: Turn = {
      id: `${id}-user`,
      role: "user",
      content: text,
      image: attachment,
      reasoning: "",
      status: "done",
      error: null,
      usage: null,
    };
    const assistant: Turn = {
      id,
      role: "assistant",
      content: "",
      image: null,
      reasoning: "",
      status: "streaming",
      error: null,
      usage: null,
    };
    const sent = socket.current.request(id, {
      add_generation_prompt: true,
      conversation_history: conversationOf([...turns, user], system),
      enable_thinking: thinking,
      max_tokens: maxTokensValue,
    });
    setTurns((current) => [
      ...current,
      user,
      sent ? assistant : { ...assistant, status: "error", error: "The inference socket is not connected." },
    ]);
    setInput("");
    setAttachment(null);
    setAttachmentError(null);
  };

  const stop = () => {
    if (streaming === null) return;
    socket.current?.stop(streaming.id);
    setTurns((current) => current.map((turn) => (turn.id === streaming.id ? { ...turn, status: "stopped" } : turn)));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  };

  return (
    <div className="page prompt-page">
      <div className="prompt-settings card">
        <label className="field inline-field">
          <span className="field-label">Max tokens</span>
          <input
            className="input mono narrow"
            name="max-tokens"
            inputMode="numeric"
            value={maxTokens}
            aria-invalid={maxTokensError !== null ? true : undefined}
            onChange={(event) => setMaxTokens(event.target.value)}
          />
        </label>
        <label className="checkbox">
          <input type="checkbox" name="thinking" checked={thinking} onChange={(event) => setThinking(event.target.checked)} />
          Thinking (models that reason show it apart)
        </label>
        <label className="field grow">
          <span className="field-label">System prompt (optional)</span>
          <input className="input" name="system" value={system} onChange={(event) => setSystem(event.target.value)} />
        </label>
        <span className={`socket-state socket-${socketState.kind}`} data-testid="socket-state">
          {socketState.kind === "open" ? "connected" : socketState.kind === "connecting" ? "connecting…" : "disconnected"}
        </span>
        <button type="button" className="button-secondary" onClick={() => setTurns([])} disabled={streaming !== null}>
          Clear
        </button>
      </div>
      {maxTokensError !== null && <div className="field-error">{maxTokensError}</div>}
      {socketState.kind === "closed" && (
        <div className="error-box" role="alert" data-testid="socket-error">
          <div>{socketState.reason}</div>
          <form
            className="key-form"
            onSubmit={(event) => {
              event.preventDefault();
              storeInferenceKey(apiKey.trim());
              connect();
            }}
          >
            <input
              className="input mono"
              type="password"
              name="inference-api-key"
              autoComplete="off"
              placeholder="inference API key (only if the balancer requires one)"
              value={apiKey}
              onChange={(event) => setApiKey(event.target.value)}
            />
            <button type="submit" className="button-secondary small">
              Reconnect
            </button>
          </form>
        </div>
      )}
      <div className="conversation" data-testid="conversation">
        {turns.length === 0 && (
          <p className="muted empty-conversation">
            Ask something. The answer streams token by token from one of the agents.
          </p>
        )}
        {turns.map((turn) => (
          <TurnView key={turn.id} turn={turn} showThinking={thinking} />
        ))}
        <div ref={end} />
      </div>
      <form className="composer" onSubmit={send} onDragOver={onDragOver} onDrop={onDrop}>
        <div className="composer-input">
          <textarea
            className="input"
            name="message"
            rows={3}
            placeholder="Write a message; Enter sends, Shift+Enter starts a new line"
            value={input}
            onChange={(event) => setInput(event.target.value)}
            onKeyDown={onKeyDown}
            onPaste={onPaste}
          />
          <div className="composer-tools">
            {attachment !== null && (
              <figure className="attachment" data-testid="attachment">
                <img className="attachment-thumbnail" src={attachment.dataUrl} alt={attachment.name} />
                <figcaption className="small">
                  {attachment.name} <span className="muted">({attachment.format}, {formatBytes(attachment.bytes)})</span>
                </figcaption>
                <button
                  type="button"
                  className="button-secondary small"
                  aria-label="Remove the image"
                  onClick={() => setAttachment(null)}
                >
                  Remove
                </button>
              </figure>
            )}
            <button type="button" className="button-secondary small" onClick={() => fileInput.current?.click()}>
              {attachment === null ? "Attach image" : "Replace image"}
            </button>
            <input ref={fileInput} type="file" name="image" accept={ACCEPTED_MEDIA_TYPES} hidden onChange={onFileChosen} />
            <span className="muted small">
              {ACCEPTED_FORMATS}, up to {formatBytes(MAX_IMAGE_BYTES)}; paste or drop one too. For models with a
              multimodal projection.
            </span>
          </div>
          {attachmentError !== null && (
            <div className="error-box inline" role="alert" data-testid="attachment-error">
              {attachmentError}
            </div>
          )}
        </div>
        {streaming !== null ? (
          <button type="button" className="button-danger" onClick={stop}>
            Stop
          </button>
        ) : (
          <button
            type="submit"
            className="button-primary"
            disabled={(input.trim() === "" && attachment === null) || socketState.kind !== "open"}
          >
            Send
          </button>
        )}
      </form>
    </div>
  );
}
