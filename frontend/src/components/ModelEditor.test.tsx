import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { decodeDesiredState } from "../api/decode";
import { ApiError } from "../api/managementClient";
import shapes from "../api/serverShapes.json";
import type { BalancerDesiredState } from "../api/types";
import { formOf } from "../model/desiredStateForm";
import { ModelEditor } from "./ModelEditor";

function renderEditor(onSave: (state: BalancerDesiredState) => Promise<void>) {
  const initial = formOf(decodeDesiredState(shapes.full_desired_state));
  return render(<ModelEditor initial={initial} onSave={onSave} />);
}

describe("ModelEditor", () => {
  it("shows a field's error and does not save an invalid temperature", async () => {
    const onSave = vi.fn(async () => {});
    renderEditor(onSave);
    fireEvent.change(screen.getByLabelText(/Temperature/), { target: { value: "-1" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByTestId("validation-summary")).toHaveTextContent("1 field needs fixing");
    expect(screen.getByText("Must be at least 0.")).toBeInTheDocument();
    expect(onSave).not.toHaveBeenCalled();
  });

  it("saves a valid change as a desired state with numbers", async () => {
    const onSave = vi.fn(async (_state: BalancerDesiredState) => {});
    renderEditor(onSave);
    fireEvent.change(screen.getByLabelText(/Temperature/), { target: { value: "0.3" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onSave).toHaveBeenCalledTimes(1));
    const saved = onSave.mock.calls[0]?.[0];
    expect(saved?.inference_parameters.temperature).toBe(0.3);
    expect(saved?.model).toEqual({ HuggingFace: { repo_id: "owner/repo", filename: "m.gguf", revision: "main" } });
    expect(await screen.findByTestId("save-status")).toHaveTextContent("Saved");
  });

  it("fills the Hugging Face fields from a pasted URL", () => {
    renderEditor(async () => {});
    const editor = screen.getByTestId("model-editor");
    const pasted = editor.querySelector<HTMLInputElement>("input[name=model-hf-url]");
    if (pasted === null) throw new Error("no URL field");
    fireEvent.change(pasted, { target: { value: "https://huggingface.co/a/b/blob/v2/c.gguf" } });
    expect(editor.querySelector<HTMLInputElement>("input[name=model-repo-id]")?.value).toBe("a/b");
    expect(editor.querySelector<HTMLInputElement>("input[name=model-filename]")?.value).toBe("c.gguf");
    expect(editor.querySelector<HTMLInputElement>("input[name=model-revision]")?.value).toBe("v2");
  });

  it("shows the server's reason when the save is refused", async () => {
    renderEditor(async () => {
      throw new ApiError(400, "`top_p` must be between 0 and 1");
    });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByTestId("save-error")).toHaveTextContent("`top_p` must be between 0 and 1");
  });
});
