// Names the calling thread, so `top -H`, perf and py-spy tell the engine's
// threads from the Python interpreter's (they all show "python" otherwise).
#pragma once

namespace paddler {

// At most 15 characters are kept (the kernel's limit); a no-op off Linux.
void name_this_thread(const char* name);

}  // namespace paddler
