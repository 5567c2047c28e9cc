import { useState } from "react";

import { parseHuggingFaceUrl, type FormErrors, type ModelSourceForm, type ModelSourceKind } from "../model/desiredStateForm";

const KINDS: { kind: ModelSourceKind; label: string }[] = [
  { kind: "None", label: "None" },
  { kind: "LocalToAgent", label: "File on the agent" },
  { kind: "Url", label: "URL" },
  { kind: "HuggingFace", label: "Hugging Face" },
];

function FieldError({ errors, field }: { errors: FormErrors; field: string }) {
  const message = errors[field];
  return message ? (
    <div className="field-error" role="alert" data-field={field}>
      {message}
    </div>
  ) : null;
}

export function ModelSourceEditor({
  id,
  title,
  help,
  value,
  errors,
  onChange,
}: {
  id: string;
  title: string;
  help: string;
  value: ModelSourceForm;
  errors: FormErrors;
  onChange: (value: ModelSourceForm) => void;
}) {
  const [pasted, setPasted] = useState("");
  const [pasteError, setPasteError] = useState<string | null>(null);
  const set = (patch: Partial<ModelSourceForm>) => onChange({ ...value, ...patch });
  const applyPasted = (text: string) => {
    setPasted(text);
    if (text.trim() === "") {
      setPasteError(null);
      return;
    }
    const parsed = parseHuggingFaceUrl(text);
    if (parsed === null) {
      setPasteError("Not a Hugging Face file URL (…/OWNER/REPO/blob/REVISION/FILE).");
      return;
    }
    setPasteError(null);
    set({ repoId: parsed.repoId, filename: parsed.filename, revision: parsed.revision });
  };
  return (
    <fieldset className="card" data-testid={`${id}-editor`}>
      <legend>{title}</legend>
      <p className="muted small">{help}</p>
      <div className="segmented" role="radiogroup" aria-label={`${title} source`}>
        {KINDS.map(({ kind, label }) => (
          <label key={kind} className={value.kind === kind ? "segment selected" : "segment"}>
            <input
              type="radio"
              name={`${id}-kind`}
              value={kind}
              checked={value.kind === kind}
              onChange={() => set({ kind })}
            />
            {label}
          </label>
        ))}
      </div>
      <FieldError errors={errors} field={`${id}.kind`} />
      {value.kind === "LocalToAgent" && (
        <label className="field">
          <span className="field-label">Path on the agents' machines</span>
          <input
            className="input mono"
            name={`${id}-local-path`}
            value={value.localPath}
            placeholder="/models/model.Q4_K_M.gguf"
            onChange={(event) => set({ localPath: event.target.value })}
          />
          <FieldError errors={errors} field={`${id}.localPath`} />
        </label>
      )}
      {value.kind === "Url" && (
        <label className="field">
          <span className="field-label">URL of the GGUF file</span>
          <input
            className="input mono"
            name={`${id}-url`}
            value={value.url}
            placeholder="https://example.com/model.gguf"
            onChange={(event) => set({ url: event.target.value })}
          />
          <FieldError errors={errors} field={`${id}.url`} />
        </label>
      )}
      {value.kind === "HuggingFace" && (
        <div className="hf">
          <label className="field">
            <span className="field-label">Paste a huggingface.co file URL (optional)</span>
            <input
              className="input mono"
              name={`${id}-hf-url`}
              value={pasted}
              placeholder="https://huggingface.co/OWNER/REPO/blob/main/model.gguf"
              onChange={(event) => applyPasted(event.target.value)}
            />
            {pasteError && <div className="field-error">{pasteError}</div>}
          </label>
          <div className="grid-3">
            <label className="field">
              <span className="field-label">Repository</span>
              <input
                className="input mono"
                name={`${id}-repo-id`}
                value={value.repoId}
                placeholder="owner/name"
                onChange={(event) => set({ repoId: event.target.value })}
              />
              <FieldError errors={errors} field={`${id}.repoId`} />
            </label>
            <label className="field">
              <span className="field-label">File</span>
              <input
                className="input mono"
                name={`${id}-filename`}
                value={value.filename}
                placeholder="model.Q4_K_M.gguf"
                onChange={(event) => set({ filename: event.target.value })}
              />
              <FieldError errors={errors} field={`${id}.filename`} />
            </label>
            <label className="field">
              <span className="field-label">Revision</span>
              <input
                className="input mono"
                name={`${id}-revision`}
                value={value.revision}
                placeholder="main"
                onChange={(event) => set({ revision: event.target.value })}
              />
            </label>
          </div>
        </div>
      )}
    </fieldset>
  );
}

export { FieldError };
