// The chat template probe: renders a set of representative conversations with
// the chat template an engine would use (the override, or the model's own),
// through the engine's own RequestPreparer, on the same large stack.
//
// llama.cpp's jinja engine has no recursion limit: a template that recurses
// without end (`{% macro f() %}{{ f() }}{% endmacro %}`) or nests expressions
// deeper than the stack holds overflows it, which kills the process, and a
// template can loop or allocate without bound. So the agent calls this in a
// short-lived process of its own (python/paddler/agent/chat_template_probe.py)
// before an engine adopts a template: if that process dies, runs out of time
// or out of memory, the template is refused and never reaches an engine.
//
// Thread contract: call it once, in a process of its own. It makes any failed
// allocation end the process at once with kChatTemplateProbeOutOfMemoryExit
// (a failed allocation inside llama.cpp would otherwise surface as an ordinary
// render error, and the same template would then exhaust an agent's memory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace paddler {

inline constexpr int kChatTemplateProbeOutOfMemoryExit = 86;

struct ChatTemplateProbeReport {
    // Why the template does not compile ("" when it does); compiling it
    // survived either way.
    std::string compile_error;
    // Conversations prepared, and the errors of those the template refused
    // (a template may reject a conversation shape, as Mistral's reject roles
    // that do not alternate: an error, not a crash).
    std::uint32_t conversations = 0;
    std::vector<std::string> failures;
};

// Loads only the vocabulary of `model_path` (no weights, no device); throws
// ModelLoadError when that fails.
ChatTemplateProbeReport probe_chat_template(const std::string& model_path, const std::string& chat_template_override);

}  // namespace paddler
