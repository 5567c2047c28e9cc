// Server-sent events read with fetch (so that an Authorization header can go
// with them, which EventSource cannot send). The parser is a pure function of
// the text received so far.

export interface SseParse {
  data: string[];
  rest: string;
}

/** Splits received text into complete events' data and the unfinished rest. */
export function parseSse(buffer: string): SseParse {
  const normalized = buffer.replace(/\r\n?/g, "\n");
  const blocks = normalized.split("\n\n");
  const rest = blocks.pop() ?? "";
  const data: string[] = [];
  for (const block of blocks) {
    const lines = block
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""));
    // Comments (": keep-alive") and events without data carry nothing.
    if (lines.length > 0) data.push(lines.join("\n"));
  }
  return { data, rest };
}
