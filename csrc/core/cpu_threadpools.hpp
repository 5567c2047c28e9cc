// The CPU threads of one llama_context, created once and kept for its life.
//
// Why: llama.cpp's CPU backend otherwise runs each graph either on OpenMP
// (its default build), whose barrier between two graph nodes ended in a futex
// system call nearly every time on a small machine shared with the asyncio
// threads, many times per generated token, or, built
// without OpenMP and with no pool attached, on threads created and joined for
// every graph. A ggml threadpool spins at those barriers without system calls
// and sleeps between graphs once its polling runs out. We build llama.cpp
// without OpenMP (CMakeLists.txt) and attach one of these to every context.
#pragma once

#include <cstdint>

struct ggml_threadpool;
struct llama_context;

namespace paddler {

class CpuThreadpools {
  public:
    // `threads` runs single-token decoding, `threads_batch` prompt batches; one
    // pool serves both when they are equal.
    // `poll`: how long idle threads spin before sleeping (ggml's 0-100 scale).
    // `batch_invariant`: their matrix products use kernels whose rounding does
    // not depend on the batch (matrix_kernels.hpp), for deterministic engines.
    CpuThreadpools(std::int32_t threads, std::int32_t threads_batch, std::uint32_t poll, bool batch_invariant);
    ~CpuThreadpools();
    CpuThreadpools(const CpuThreadpools&) = delete;
    CpuThreadpools& operator=(const CpuThreadpools&) = delete;

    // The context must be freed before this object is.
    void attach(llama_context* context) const;
    // Puts the idle threads to sleep now instead of after their polling:
    // for when the cores go to other work (an image's encode) and the next
    // graph is not coming soon. The next graph wakes them (ggml resumes a
    // paused pool when it computes on it). Engine thread only, between graphs.
    void pause() const;

  private:
    void release() noexcept;

    ggml_threadpool* threadpool_ = nullptr;
    ggml_threadpool* threadpool_batch_ = nullptr;
};

}  // namespace paddler
