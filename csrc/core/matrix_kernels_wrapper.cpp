#include "matrix_kernels_wrapper.hpp"

#include <array>
#include <atomic>

#include "ggml-cpu-impl.h"
#include "llamafile/sgemm.h"

// Exported from a CPU backend module even where the module hides the rest.
#define PADDLER_EXPORT __attribute__((visibility("default")))

namespace {

// A fixed table, not a locked set: the wrapper reads it from every CPU thread
// on every matrix product, so reading must be a few relaxed loads. Each engine
// registers two pools at most (and its embedding context two more).
constexpr std::size_t kMaxPools = 64;
std::array<std::atomic<ggml_threadpool*>, kMaxPools> registered{};
std::atomic<std::uint32_t> registered_count{0};
std::atomic<std::uint64_t> products{0};

bool is_registered(const ggml_threadpool* pool) {
    if (pool == nullptr || registered_count.load(std::memory_order_acquire) == 0) return false;
    for (const auto& entry : registered) {
        if (entry.load(std::memory_order_relaxed) == pool) return true;
    }
    return false;
}

}  // namespace

extern "C" {

PADDLER_EXPORT bool paddler_tinyblas_decline(ggml_threadpool* pool) {
    if (pool == nullptr) return true;
    for (auto& entry : registered) {
        ggml_threadpool* expected = nullptr;
        if (entry.compare_exchange_strong(expected, pool, std::memory_order_release)) {
            registered_count.fetch_add(1, std::memory_order_release);
            return true;
        }
    }
    return false;
}

PADDLER_EXPORT void paddler_tinyblas_restore(ggml_threadpool* pool) {
    if (pool == nullptr) return;
    for (auto& entry : registered) {
        ggml_threadpool* expected = pool;
        if (entry.compare_exchange_strong(expected, nullptr, std::memory_order_release)) {
            registered_count.fetch_sub(1, std::memory_order_release);
            return;
        }
    }
}

PADDLER_EXPORT std::uint64_t paddler_tinyblas_products() { return products.load(std::memory_order_relaxed); }

bool __real_llamafile_sgemm(const struct ggml_compute_params* params, int64_t m, int64_t n, int64_t k,
                            const void* A, int64_t lda, const void* B, int64_t ldb, void* C, int64_t ldc,
                            int Atype, int Btype, int Ctype);

// ggml-cpu calls this in place of llamafile_sgemm (-Wl,--wrap). Declining
// makes ggml compute the product with its own kernels.
bool __wrap_llamafile_sgemm(const struct ggml_compute_params* params, int64_t m, int64_t n, int64_t k,
                            const void* A, int64_t lda, const void* B, int64_t ldb, void* C, int64_t ldc,
                            int Atype, int Btype, int Ctype) {
    if (is_registered(params->threadpool)) return false;
    const bool computed = __real_llamafile_sgemm(params, m, n, k, A, lda, B, ldb, C, ldc, Atype, Btype, Ctype);
    if (computed && params->ith == 0) {
        products.fetch_add(1, std::memory_order_relaxed);
    }
    return computed;
}

}  // extern "C"
