#include "cpu_threadpools.hpp"

#include <stdexcept>
#include <string>

#include "cpu_backend.hpp"
#include "llama.h"
#include "matrix_kernels.hpp"

namespace paddler {

namespace {

ggml_threadpool* new_threadpool(std::int32_t threads, std::uint32_t poll, bool paused) {
    ggml_threadpool_params params = ggml_threadpool_params_default(threads);
    params.poll = poll;
    params.paused = paused;
    ggml_threadpool* threadpool = cpu_backend().threadpool_new(&params);
    if (threadpool == nullptr) {
        throw std::runtime_error("cannot start a CPU threadpool of " + std::to_string(threads) + " threads");
    }
    return threadpool;
}

}  // namespace

CpuThreadpools::CpuThreadpools(std::int32_t threads, std::int32_t threads_batch, std::uint32_t poll,
                               bool batch_invariant) {
    if (threads_batch != threads) {
        threadpool_batch_ = new_threadpool(threads_batch, poll, false);
    }
    try {
        // As llama.cpp's own tools do: with two pools, the one for single tokens starts
        // paused, and the context resumes whichever it computes on (pausing the other).
        threadpool_ = new_threadpool(threads, poll, threadpool_batch_ != nullptr);
    } catch (...) {
        if (threadpool_batch_ != nullptr) cpu_backend().threadpool_free(threadpool_batch_);
        throw;
    }
    if (batch_invariant) {
        try {
            matrix_kernels::use_batch_invariant(threadpool_);
            matrix_kernels::use_batch_invariant(threadpool_batch_);
        } catch (...) {
            release();
            throw;
        }
    }
}

void CpuThreadpools::release() noexcept {
    matrix_kernels::forget(threadpool_);
    matrix_kernels::forget(threadpool_batch_);
    const CpuBackend& backend = cpu_backend();
    backend.threadpool_free(threadpool_);
    if (threadpool_batch_ != nullptr) backend.threadpool_free(threadpool_batch_);
}

CpuThreadpools::~CpuThreadpools() { release(); }

void CpuThreadpools::attach(llama_context* context) const {
    llama_attach_threadpool(context, threadpool_, threadpool_batch_);
}

void CpuThreadpools::pause() const {
    const CpuBackend& backend = cpu_backend();
    backend.threadpool_pause(threadpool_);
    if (threadpool_batch_ != nullptr) backend.threadpool_pause(threadpool_batch_);
}

}  // namespace paddler
