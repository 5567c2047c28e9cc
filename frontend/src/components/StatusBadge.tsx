import type { StateApplicationStatus } from "../api/types";

const LABELS: { [status in StateApplicationStatus]: { label: string; tone: string; title: string } } = {
  Fresh: { label: "Pending", tone: "neutral", title: "The agent has not applied the desired state yet." },
  AttemptedAndRetrying: { label: "Retrying", tone: "warning", title: "Applying failed; the agent tries again." },
  Stuck: { label: "Stuck", tone: "danger", title: "The agent keeps failing to apply the desired state." },
  Applied: { label: "Applied", tone: "success", title: "The agent serves the desired state." },
  AttemptedAndNotAppliable: {
    label: "Needs your help",
    tone: "danger",
    title: "The desired state cannot be applied as it is: see the issues and change it.",
  },
};

export function StatusBadge({ status }: { status: StateApplicationStatus }) {
  const { label, tone, title } = LABELS[status];
  return (
    <span className={`badge badge-${tone}`} title={title} data-testid="status-badge">
      {label}
    </span>
  );
}
