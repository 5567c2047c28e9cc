// Busy slots of an agent against its total, and the total it is heading for.

export function SlotsBar({ processing, total, desired }: { processing: number; total: number; desired: number }) {
  const cells = Math.max(total, desired);
  return (
    <div className="slots" data-testid="slots">
      <div className="slots-bar" role="img" aria-label={`${processing} of ${total} slots busy`}>
        {Array.from({ length: cells }, (_, index) => (
          <span
            key={index}
            className={index < processing ? "slot slot-busy" : index < total ? "slot slot-free" : "slot slot-coming"}
          />
        ))}
      </div>
      <span className="slots-text">
        {processing} busy / {total} slots
        {desired !== total ? ` (desired ${desired})` : ""}
      </span>
    </div>
  );
}
