import { useState } from "react";

export function CopyableCommand({ command }: { command: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    // The clipboard API exists only in secure contexts; elsewhere the text stays selectable.
    navigator.clipboard?.writeText(command).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => setCopied(false),
    );
  };
  return (
    <div className="command">
      <code data-testid="add-agent-command">{command}</code>
      {typeof navigator !== "undefined" && navigator.clipboard !== undefined && (
        <button type="button" className="button-secondary small" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
      )}
    </div>
  );
}
