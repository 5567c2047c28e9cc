// Sorts generated text into content, reasoning and tool calls as it streams,
// with the output parser that llama.cpp's common library derived from the
// chat template (format detection, thinking markers, tool-call syntax).
//
// After every token the whole output so far is parsed as a partial message
// and compared with the previous parse; what changed is what this token made
// visible. Markers the parser consumes (say "<think>") make nothing visible
// and are counted as undeterminable.
//
// Thread contract: one instance per request, used by the engine thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat.h"
#include "types.hpp"

namespace paddler {

struct ClassifiedPiece {
    TokenKind kind = TokenKind::Content;
    std::string text;
};

struct ClassifiedToken {
    TokenKind kind = TokenKind::Undeterminable;  // what the token counts as
    std::vector<ClassifiedPiece> pieces;          // the text it made visible
    // Earlier tokens, counted as undeterminable, that turned out to open a
    // tool call: the caller moves them to the tool-call count.
    std::int32_t reclassified_as_tool_call = 0;
};

struct ToolCallOutcome {
    std::vector<ToolCall> calls;
    ErrorKind error = ErrorKind::None;  // ToolCallParseFailed or UnrecognizedToolCallFormat
    std::string message;
};

class OutputClassifier {
  public:
    OutputClassifier(common_chat_parser_params params, bool tools_offered);

    ClassifiedToken push(const std::string& text);
    // The final parse, once generation ended; only meaningful with tools.
    ToolCallOutcome finish_tool_calls();

  private:
    common_chat_msg parse(bool partial);

    common_chat_parser_params params_;
    bool tools_offered_;
    std::string output_;
    common_chat_msg previous_;
    std::string tool_call_text_;  // raw text of the tokens counted as tool calls
    // Text of tokens that made nothing visible since the last visible piece
    // (the parser holds it until it knows what it is).
    std::string unshown_text_;
    std::int32_t unshown_tokens_ = 0;
};

}  // namespace paddler
