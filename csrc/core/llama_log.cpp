#include "llama_log.hpp"

#include <cstdio>
#include <mutex>

#include "cpu_backend.hpp"
#include "llama.h"
#include "mtmd-helper.h"

namespace paddler {

namespace {

thread_local std::string* capture_target = nullptr;

void log_callback(ggml_log_level level, const char* text, void* /*user_data*/) {
    if (level == GGML_LOG_LEVEL_ERROR && capture_target != nullptr) {
        capture_target->append(text);
    }
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        std::fputs(text, stderr);
    }
}

}  // namespace

void init_llama_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        llama_log_set(log_callback, nullptr);
        // mtmd (the multimodal projector) logs on its own; the same way.
        mtmd_helper_log_set(log_callback, nullptr);
        // Loads ggml's backend modules in a wheel (the best CPU variant);
        // a source build's backends are linked in and this only fills a table.
        cpu_backend();
        llama_backend_init();
    });
}

LogCapture::LogCapture() : previous_(capture_target) { capture_target = &captured_; }

LogCapture::~LogCapture() { capture_target = previous_; }

std::string LogCapture::text(const std::string& fallback) const {
    std::string out = captured_;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
        out.pop_back();
    }
    return out.empty() ? fallback : out;
}

}  // namespace paddler
