import { describe, expect, it } from "vitest";

import { parseSse } from "./sse";

describe("parseSse", () => {
  it("returns complete events and keeps the unfinished rest", () => {
    const parsed = parseSse('data: {"a":1}\n\n: keep-alive\n\ndata: {"b"');
    expect(parsed.data).toEqual(['{"a":1}']);
    expect(parsed.rest).toBe('data: {"b"');
  });

  it("joins multi-line data and accepts CRLF", () => {
    expect(parseSse("data: one\r\ndata: two\r\n\r\n").data).toEqual(["one\ntwo"]);
  });
});
