// Runs a piece of work on a thread of its own with a large stack, and waits
// for it.
//
// llama.cpp's jinja engine recurses as deep as a template (a recursive macro,
// such as the Hermes json_to_python_type over a nested tool schema) or a
// template expression (nested brackets) goes, with no limit of its own; on a
// thread's usual 8 MiB stack a legitimate but deep template can overflow it,
// and an overflow kills the process. Compiling and rendering chat templates
// on this stack leaves room for every bounded template, and the chat template
// probe (chat_template_probe.hpp) renders on the same stack, so a template it
// passes has been rendered with exactly the room an engine gives it.
//
// Thread contract: any thread; blocks the caller until the work is done. An
// exception thrown by the work is rethrown in the caller.
#pragma once

#include <cstddef>
#include <functional>

namespace paddler {

// The stack chat templates are compiled and rendered on: eight times a
// thread's usual stack. Only the pages a render touches are committed; the
// rest is address space. Larger is not free: a template that recurses without
// end takes longer to overflow it, and the probe touches all of it first.
inline constexpr std::size_t kChatTemplateStackBytes = std::size_t{64} << 20;

void run_on_large_stack(std::size_t stack_bytes, const std::function<void()>& work);

}  // namespace paddler
