#include "chat_template_probe.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <variant>

#include "engine.hpp"
#include "llama.h"
#include "llama_log.hpp"
#include "request_preparation.hpp"

namespace paddler {

namespace {

// One tool whose schema nests (an object in an object, an array of
// integers, an enum), so templates that walk schemas recursively walk it.
constexpr const char* kTools = R"([{"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "array", "items": {"type": "integer"}},
        "options": {"type": "object", "properties": {"detailed": {"type": "boolean"},
                    "hours": {"type": "array", "items": {"type": "object", "properties": {"hour": {"type": "integer"}}}}}}},
        "required": ["city"]}}}])";

struct Conversation {
    const char* messages;
    bool with_tools;
};

constexpr Conversation kConversations[] = {
    {R"([{"role": "user", "content": "Hello"}])", false},
    {R"([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello"}])", false},
    {R"([{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi. What can I do?"},
         {"role": "user", "content": "Tell me a joke"}])",
     false},
    {R"([{"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "again"}]}])", false},
    {R"([{"role": "user", "content": "Why?"},
         {"role": "assistant", "content": "Because.", "reasoning_content": "The user asks why."},
         {"role": "user", "content": "And then?"}])",
     false},
    {R"([{"role": "system", "content": "Use the tools."}, {"role": "user", "content": "Weather in Paris?"}])", true},
    {R"([{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
          "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"days\": [1, 2]}"}}]},
         {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
         {"role": "user", "content": "And in Rome?"}])",
     true},
};

[[noreturn]] void out_of_memory() {
    std::fputs("chat template probe: out of memory\n", stderr);
    std::_Exit(kChatTemplateProbeOutOfMemoryExit);
}

}  // namespace

ChatTemplateProbeReport probe_chat_template(const std::string& model_path, const std::string& chat_template_override) {
    std::set_new_handler(out_of_memory);
    init_llama_once();

    LogCapture capture;
    llama_model_params model_params = llama_model_default_params();
    model_params.vocab_only = true;
    model_params.load_mode = LLAMA_LOAD_MODE_NONE;
    // No devices: a vocabulary needs none, and a GPU backend is not woken up.
    ggml_backend_dev_t no_devices[] = {nullptr};
    model_params.devices = no_devices;
    std::unique_ptr<llama_model, decltype(&llama_model_free)> model(
        llama_model_load_from_file(model_path.c_str(), model_params), llama_model_free);
    if (!model) {
        throw ModelLoadError("cannot load the vocabulary of " + model_path + ": " +
                             capture.text("llama.cpp gave no reason"));
    }

    // A context as large as any: the probe is about the template, not the length of its prompt.
    const RequestPreparer preparer(model.get(), chat_template_override, 1U << 30);
    ChatTemplateProbeReport report;
    report.compile_error = preparer.chat_template_error();
    if (!report.compile_error.empty()) {
        return report;
    }
    for (const Conversation& conversation : kConversations) {
        for (const bool add_generation_prompt : {true, false}) {
            for (const bool enable_thinking : {true, false}) {
                for (const ToolChoice choice : {ToolChoice::Auto, ToolChoice::Required}) {
                    if (choice == ToolChoice::Required && !conversation.with_tools) continue;
                    Request request;
                    request.conversation_json = conversation.messages;
                    if (conversation.with_tools) request.tools_json = kTools;
                    request.tool_choice = choice;
                    request.add_generation_prompt = add_generation_prompt;
                    request.enable_thinking = enable_thinking;
                    request.sampling.temperature = 0.0f;
                    Preparation prepared = preparer.prepare(std::move(request));
                    ++report.conversations;
                    if (auto* failed = std::get_if<PreparationFailure>(&prepared)) {
                        report.failures.push_back(failed->message);
                    }
                }
            }
        }
    }
    return report;
}

}  // namespace paddler
