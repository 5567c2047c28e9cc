#include "output_classifier.hpp"

#include <exception>
#include <utility>

namespace paddler {

OutputClassifier::OutputClassifier(common_chat_parser_params params, bool tools_offered)
    : params_(std::move(params)), tools_offered_(tools_offered) {
    params_.parse_tool_calls = tools_offered;
}

common_chat_msg OutputClassifier::parse(bool partial) { return common_chat_parse(output_, partial, params_); }

ClassifiedToken OutputClassifier::push(const std::string& text) {
    ClassifiedToken token;
    if (text.empty()) {
        return token;
    }
    output_ += text;
    common_chat_msg current;
    std::vector<common_chat_msg_diff> diffs;
    try {
        current = parse(true);
        diffs = common_chat_msg_diff::compute_diffs(previous_, current);
    } catch (const std::exception&) {
        // A partial parse may fail, or disagree with the previous one,
        // mid-marker; the next token usually settles it. Nothing is made
        // visible by this one.
        unshown_text_ += text;
        unshown_tokens_ += 1;
        return token;
    }
    bool tool_call_delta = false;
    for (const auto& diff : diffs) {
        if (!diff.reasoning_content_delta.empty()) {
            token.pieces.push_back({TokenKind::Reasoning, diff.reasoning_content_delta});
        }
        if (!diff.content_delta.empty()) {
            token.pieces.push_back({TokenKind::Content, diff.content_delta});
        }
        if (diff.tool_call_index != std::string::npos) {
            tool_call_delta = true;
        }
    }
    if (tool_call_delta || (!current.tool_calls.empty() && token.pieces.empty())) {
        // Tool calls are shown as the raw text the model wrote, including the
        // opening the parser held back until it recognized a call; the parsed
        // calls come once, at the end.
        const std::string raw = unshown_text_ + text;
        token.pieces.push_back({TokenKind::ToolCall, raw});
        tool_call_text_ += raw;
        token.reclassified_as_tool_call = unshown_tokens_;
    }
    previous_ = std::move(current);
    if (token.pieces.empty()) {
        unshown_text_ += text;
        unshown_tokens_ += 1;
        return token;
    }
    unshown_text_.clear();
    unshown_tokens_ = 0;
    token.kind = token.pieces.front().kind;
    return token;
}

ToolCallOutcome OutputClassifier::finish_tool_calls() {
    ToolCallOutcome outcome;
    if (!tools_offered_) {
        return outcome;
    }
    common_chat_msg final_message;
    try {
        final_message = parse(false);
    } catch (const std::exception& error) {
        outcome.error = ErrorKind::ToolCallParseFailed;
        outcome.message = error.what();
        return outcome;
    }
    for (const auto& call : final_message.tool_calls) {
        outcome.calls.push_back(ToolCall{call.id, call.name, call.arguments});
    }
    if (outcome.calls.empty() && !tool_call_text_.empty()) {
        outcome.error = ErrorKind::UnrecognizedToolCallFormat;
        outcome.message = tool_call_text_;
    }
    return outcome;
}

}  // namespace paddler
