// The desired-state editor: model sources, chat template, inference
// parameters. Validates before it calls `onSave`; shows what `onSave` throws.

import { useState, type FormEvent } from "react";

import type { BalancerDesiredState } from "../api/types";
import { validateForm, type DesiredStateForm, type FormErrors } from "../model/desiredStateForm";
import { PARAMETER_GROUPS, type ParameterSpec } from "../model/inferenceParameterSpecs";
import { FieldError, ModelSourceEditor } from "./ModelSourceEditor";

function ParameterField({
  spec,
  value,
  errors,
  onChange,
}: {
  spec: ParameterSpec;
  value: string | boolean;
  errors: FormErrors;
  onChange: (value: string | boolean) => void;
}) {
  const field = `parameters.${spec.key}`;
  const id = `parameter-${spec.key}`;
  if (spec.kind === "boolean") {
    return (
      <div className="field">
        <label className="checkbox">
          <input id={id} name={spec.key} type="checkbox" checked={value === true} onChange={(event) => onChange(event.target.checked)} />
          {spec.label}
        </label>
        <span className="muted small">{spec.help}</span>
      </div>
    );
  }
  const range =
    spec.kind === "choice" || (spec.min === null && spec.max === null)
      ? null
      : spec.min !== null && spec.max !== null
        ? `${spec.min} to ${spec.max}`
        : spec.min !== null
          ? `${spec.min} or more`
          : `${spec.max} or less`;
  return (
    <div className={errors[field] ? "field has-error" : "field"}>
      <label className="field-label" htmlFor={id}>
        {spec.label}
        {spec.kind !== "choice" && spec.unit && <span className="unit"> ({spec.unit})</span>}
      </label>
      {spec.kind === "choice" ? (
        <select id={id} name={spec.key} className="input" value={String(value)} onChange={(event) => onChange(event.target.value)}>
          {spec.choices.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          name={spec.key}
          className="input mono"
          inputMode={spec.kind === "integer" ? "numeric" : "decimal"}
          value={String(value)}
          aria-invalid={errors[field] ? true : undefined}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
      <span className="muted small">
        {spec.help}
        {range ? ` Range: ${range}.` : ""}
      </span>
      <FieldError errors={errors} field={field} />
    </div>
  );
}

export type SaveOutcome = { kind: "idle" } | { kind: "saving" } | { kind: "saved"; at: Date } | { kind: "failed"; message: string };

export function ModelEditor({
  initial,
  onSave,
}: {
  initial: DesiredStateForm;
  onSave: (state: BalancerDesiredState) => Promise<void>;
}) {
  const [form, setForm] = useState<DesiredStateForm>(initial);
  const [errors, setErrors] = useState<FormErrors>({});
  const [outcome, setOutcome] = useState<SaveOutcome>({ kind: "idle" });
  const update = (patch: Partial<DesiredStateForm>) => setForm((current) => ({ ...current, ...patch }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const validated = validateForm(form);
    if (!validated.ok) {
      setErrors(validated.errors);
      setOutcome({ kind: "idle" });
      return;
    }
    setErrors({});
    setOutcome({ kind: "saving" });
    try {
      await onSave(validated.state);
      setOutcome({ kind: "saved", at: new Date() });
    } catch (error) {
      setOutcome({ kind: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  };

  const errorCount = Object.keys(errors).length;
  return (
    <form className="model-editor" onSubmit={(event) => void submit(event)} noValidate>
      <div className="grid-2">
        <ModelSourceEditor
          id="model"
          title="Model"
          help="The GGUF file every agent loads."
          value={form.model}
          errors={errors}
          onChange={(model) => update({ model })}
        />
        <ModelSourceEditor
          id="multimodalProjection"
          title="Multimodal projection (optional)"
          help="The mmproj file that lets a vision model read images."
          value={form.multimodalProjection}
          errors={errors}
          onChange={(multimodalProjection) => update({ multimodalProjection })}
        />
      </div>
      <fieldset className="card">
        <legend>Chat template</legend>
        <div className="segmented" role="radiogroup" aria-label="Chat template">
          <label className={!form.useChatTemplateOverride ? "segment selected" : "segment"}>
            <input
              type="radio"
              name="chat-template"
              checked={!form.useChatTemplateOverride}
              onChange={() => update({ useChatTemplateOverride: false })}
            />
            The model's own
          </label>
          <label className={form.useChatTemplateOverride ? "segment selected" : "segment"}>
            <input
              type="radio"
              name="chat-template"
              checked={form.useChatTemplateOverride}
              onChange={() => update({ useChatTemplateOverride: true })}
            />
            An override
          </label>
        </div>
        {form.useChatTemplateOverride && (
          <label className="field">
            <span className="field-label">Jinja template</span>
            <textarea
              className="input mono template-editor"
              name="chat-template-override"
              spellCheck={false}
              value={form.chatTemplateOverride}
              placeholder="{% for message in messages %}…"
              onChange={(event) => update({ chatTemplateOverride: event.target.value })}
            />
            <FieldError errors={errors} field="chatTemplateOverride" />
          </label>
        )}
      </fieldset>
      {PARAMETER_GROUPS.map((group) => (
        <fieldset className="card" key={group.title}>
          <legend>{group.title}</legend>
          <div className="parameters">
            {group.specs.map((spec) => (
              <ParameterField
                key={spec.key}
                spec={spec}
                value={form.parameters[spec.key]}
                errors={errors}
                onChange={(value) => update({ parameters: { ...form.parameters, [spec.key]: value } })}
              />
            ))}
          </div>
        </fieldset>
      ))}
      <div className="save-bar">
        <button type="submit" className="button-primary" disabled={outcome.kind === "saving"}>
          {outcome.kind === "saving" ? "Saving…" : "Save"}
        </button>
        <button
          type="button"
          className="button-secondary"
          onClick={() => {
            setForm(initial);
            setErrors({});
            setOutcome({ kind: "idle" });
          }}
        >
          Reset
        </button>
        {errorCount > 0 && (
          <span className="field-error" role="alert" data-testid="validation-summary">
            {errorCount === 1 ? "1 field needs" : `${errorCount} fields need`} fixing before saving.
          </span>
        )}
        {outcome.kind === "saved" && (
          <span className="success-text" role="status" data-testid="save-status">
            Saved at {outcome.at.toLocaleTimeString()}. The agents now apply it.
          </span>
        )}
        {outcome.kind === "failed" && (
          <span className="error-box inline" role="alert" data-testid="save-error">
            The balancer refused it: {outcome.message}
          </span>
        )}
      </div>
    </form>
  );
}
