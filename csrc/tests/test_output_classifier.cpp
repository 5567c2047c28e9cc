// The output classifier with parsers that llama.cpp's common library derives
// from real chat templates; no model is needed for that, so the transitions
// a small model will not produce on demand (closing a thinking block, a tool
// call arriving in pieces) are tested here exactly.
#include <string>
#include <vector>

#include "chat.h"
#include "check.hpp"
#include "output_classifier.hpp"

using namespace paddler;

static const char* kThinking = R"({% for message in messages %}<|im_start|>{{ message.role }}
{% if message.role == 'assistant' and message.reasoning_content %}<think>
{{ message.reasoning_content }}
</think>

{% endif %}{{ message.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
<think>
{% endif %})";

static const char* kHermes = R"({%- if tools %}<|im_start|>system
Tools:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools><|im_end|>
{% endif %}{% for message in messages %}{% if message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant
{% for tool_call in message.tool_calls %}{% if tool_call.function is defined %}{% set tool_call = tool_call.function %}{% endif %}<tool_call>
{"name": "{{ tool_call.name }}", "arguments": {{ tool_call.arguments | tojson }}}
</tool_call>
{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %})";

static OutputClassifier classifier_for(const char* chat_template, bool with_tools) {
    auto templates = common_chat_templates_init(nullptr, chat_template);
    common_chat_templates_inputs inputs;
    common_chat_msg user;
    user.role = "user";
    user.content = "Hello";
    inputs.messages = {user};
    inputs.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    if (with_tools) {
        inputs.tools = {common_chat_tool{"get_weather", "The weather",
                                         R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"}};
    }
    const common_chat_params chat = common_chat_templates_apply(templates.get(), inputs);
    common_chat_parser_params parser(chat);
    parser.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    if (!chat.parser.empty()) parser.parser.load(chat.parser);
    return OutputClassifier(parser, with_tools);
}

struct Collected {
    std::string reasoning, content, tool_call;
    std::vector<TokenKind> kinds;
};

static Collected feed(OutputClassifier& classifier, const std::vector<std::string>& pieces) {
    Collected out;
    for (const auto& piece : pieces) {
        ClassifiedToken token = classifier.push(piece);
        out.kinds.push_back(token.kind);
        for (const auto& p : token.pieces) {
            if (p.kind == TokenKind::Reasoning) out.reasoning += p.text;
            if (p.kind == TokenKind::Content) out.content += p.text;
            if (p.kind == TokenKind::ToolCall) out.tool_call += p.text;
        }
    }
    return out;
}

static void reasoning_then_content_after_the_closing_marker() {
    OutputClassifier classifier = classifier_for(kThinking, false);
    Collected got = feed(classifier, {"Let", " me", " think", ".", "\n</think>", "\n\n", "The", " answer", "."});
    CHECK(got.reasoning.find("Let me think.") != std::string::npos);
    CHECK(got.content == "The answer.");
    CHECK(got.kinds.front() == TokenKind::Reasoning);
    CHECK(got.kinds.back() == TokenKind::Content);
    CHECK(got.content.find("think>") == std::string::npos);
    CHECK(got.reasoning.find("think>") == std::string::npos);
}

static void a_tool_call_in_pieces_is_shown_raw_and_parsed_at_the_end() {
    OutputClassifier classifier = classifier_for(kHermes, true);
    const std::string call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < call.size(); i += 3) pieces.push_back(call.substr(i, 3));
    Collected got = feed(classifier, pieces);
    CHECK(got.content.empty());
    CHECK(got.tool_call == call);
    ToolCallOutcome outcome = classifier.finish_tool_calls();
    CHECK(outcome.error == ErrorKind::None);
    CHECK(outcome.calls.size() == 1);
    CHECK(outcome.calls[0].name == "get_weather");
    CHECK(outcome.calls[0].arguments.find("Oslo") != std::string::npos);
}

static void plain_text_with_tools_offered_is_content_and_no_call() {
    OutputClassifier classifier = classifier_for(kHermes, true);
    Collected got = feed(classifier, {"Just", " words", "."});
    CHECK(got.content == "Just words.");
    ToolCallOutcome outcome = classifier.finish_tool_calls();
    CHECK(outcome.error == ErrorKind::None);
    CHECK(outcome.calls.empty());
}

int main() {
    reasoning_then_content_after_the_closing_marker();
    a_tool_call_in_pieces_is_shown_raw_and_parsed_at_the_end();
    plain_text_with_tools_offered_is_content_and_no_call();
    return 0;
}
