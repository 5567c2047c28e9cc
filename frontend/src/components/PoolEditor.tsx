// Creates a pool or edits one: validates before it calls `onSave`; shows what
// `onSave` throws (the balancer's reason for a refusal).

import { useState, type FormEvent } from "react";

import type { ModelPool, ModelPoolSettings } from "../api/types";
import type { FormErrors } from "../model/desiredStateForm";
import { emptyPoolForm, poolFormOf, validatePoolForm, type PoolForm } from "../model/poolForm";
import { FieldError, ModelSourceEditor } from "./ModelSourceEditor";

type NumberField = "minAgents" | "maxAgents" | "keepAliveS" | "maxConcurrency";

const NUMBER_FIELDS: { field: NumberField; label: string; help: string }[] = [
  { field: "minAgents", label: "Min agents", help: "Agents kept even when idle." },
  { field: "maxAgents", label: "Max agents", help: "Empty: no limit." },
  { field: "keepAliveS", label: "Keep alive (s)", help: "Idle seconds before its agents may go to another pool." },
  { field: "maxConcurrency", label: "Max concurrency", help: "Requests running and buffered; over it, 429. Empty: no limit." },
];

export function PoolEditor({
  editing,
  onSave,
  onClose,
}: {
  /** The pool to edit, or null to create one. */
  editing: ModelPool | null;
  onSave: (name: string, settings: ModelPoolSettings) => Promise<void>;
  onClose: () => void;
}) {
  const [form, setForm] = useState<PoolForm>(() => (editing === null ? emptyPoolForm() : poolFormOf(editing)));
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const update = (patch: Partial<PoolForm>) => setForm((previous) => ({ ...previous, ...patch }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = validatePoolForm(form, editing);
    if (!result.ok) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    setFailure(null);
    setSaving(true);
    try {
      await onSave(result.name, result.settings);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setSaving(false);
    }
  };

  const title = editing === null ? "New pool" : `Edit pool ${editing.name}`;
  return (
    <form className="pool-editor" onSubmit={(event) => void submit(event)} noValidate aria-label={title}>
      <fieldset className="card">
        <legend>{title}</legend>
        <div className="grid-2">
          <label className={errors.name ? "field has-error" : "field"}>
            <span className="field-label">Name</span>
            <input
              className="input mono"
              name="pool-name"
              value={editing?.name ?? form.name}
              readOnly={editing !== null}
              placeholder="qwen3-8b"
              onChange={(event) => update({ name: event.target.value })}
            />
            <span className="muted small">
              The OpenAI <code>model</code> that selects this pool.
            </span>
            <FieldError errors={errors} field="name" />
          </label>
          <label className={errors.aliases ? "field has-error" : "field"}>
            <span className="field-label">Aliases</span>
            <input
              className="input mono"
              name="pool-aliases"
              value={form.aliases}
              placeholder="gpt-4o, qwen"
              onChange={(event) => update({ aliases: event.target.value })}
            />
            <span className="muted small">Other model names that select it, separated by commas.</span>
            <FieldError errors={errors} field="aliases" />
          </label>
        </div>
        <div className="parameters">
          {NUMBER_FIELDS.map(({ field, label, help }) => (
            <label key={field} className={errors[field] ? "field has-error" : "field"}>
              <span className="field-label">{label}</span>
              <input
                className="input mono"
                name={`pool-${field}`}
                inputMode="decimal"
                value={form[field]}
                aria-invalid={errors[field] ? true : undefined}
                onChange={(event) => update({ [field]: event.target.value })}
              />
              <span className="muted small">{help}</span>
              <FieldError errors={errors} field={field} />
            </label>
          ))}
        </div>
      </fieldset>
      <ModelSourceEditor
        id="model"
        title="Model"
        help={
          editing === null
            ? "The GGUF file the pool's agents load; the other settings of the state start at the balancer's defaults."
            : "The GGUF file the pool's agents load; the rest of its desired state stays as it is."
        }
        value={form.model}
        errors={errors}
        onChange={(model) => update({ model })}
      />
      <div className="save-bar">
        <button type="submit" className="button-primary" disabled={saving}>
          {saving ? "Saving…" : editing === null ? "Create pool" : "Save pool"}
        </button>
        <button type="button" className="button-secondary" onClick={onClose}>
          Cancel
        </button>
        {Object.keys(errors).length > 0 && (
          <span className="field-error" role="alert" data-testid="pool-validation-summary">
            Fix the fields above before saving.
          </span>
        )}
        {failure !== null && (
          <span className="error-box inline" role="alert" data-testid="pool-save-error">
            The balancer refused it: {failure}
          </span>
        )}
      </div>
    </form>
  );
}
