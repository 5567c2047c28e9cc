#include "cpu_threadpools.hpp"

#include <stdexcept>
#include <string>

#include "ggml-cpu.h"
#include "llama.h"

namespace paddler {

namespace {

ggml_threadpool* new_threadpool(std::int32_t threads, bool paused) {
    ggml_threadpool_params params = ggml_threadpool_params_default(threads);
    params.paused = paused;
    // Workers poll for the next graph as long as ggml allows (100; its default is 50) before
    // sleeping: the gap between two decode steps (sampling, emitting) is short, and a worker
    // woken from its sleep starts late. Measured, engine + balancer vs llama-server on the
    // 2-core VM, two A/B runs against 50: aggregate at 16 +15% and +12%, at 4 +18% and +3%,
    // single stream +21% and +2%. An idle engine still sleeps once the polling runs out.
    params.poll = 100;
    ggml_threadpool* threadpool = ggml_threadpool_new(&params);
    if (threadpool == nullptr) {
        throw std::runtime_error("cannot start a CPU threadpool of " + std::to_string(threads) + " threads");
    }
    return threadpool;
}

}  // namespace

CpuThreadpools::CpuThreadpools(std::int32_t threads, std::int32_t threads_batch) {
    if (threads_batch != threads) {
        threadpool_batch_ = new_threadpool(threads_batch, false);
    }
    try {
        // As llama.cpp's own tools do: with two pools, the one for single tokens starts
        // paused, and the context resumes whichever it computes on (pausing the other).
        threadpool_ = new_threadpool(threads, threadpool_batch_ != nullptr);
    } catch (...) {
        if (threadpool_batch_ != nullptr) ggml_threadpool_free(threadpool_batch_);
        throw;
    }
}

CpuThreadpools::~CpuThreadpools() {
    ggml_threadpool_free(threadpool_);
    if (threadpool_batch_ != nullptr) ggml_threadpool_free(threadpool_batch_);
}

void CpuThreadpools::attach(llama_context* context) const {
    llama_attach_threadpool(context, threadpool_, threadpool_batch_);
}

}  // namespace paddler
