#include "matrix_kernels.hpp"

#include <stdexcept>

#include "cpu_backend.hpp"

namespace paddler::matrix_kernels {

bool tinyblas_built() {
#if defined(PADDLER_TINYBLAS)
    return true;
#else
    return false;
#endif
}

bool choosable() {
    if (!tinyblas_built()) return true;
    return cpu_backend().tinyblas_decline != nullptr;
}

void use_batch_invariant(ggml_threadpool* pool) {
    if (!tinyblas_built() || pool == nullptr) return;
    const CpuBackend& backend = cpu_backend();
    if (backend.tinyblas_decline == nullptr) {
        throw std::runtime_error(
            "deterministic matrix kernels are not available in this build: it has llamafile's tinyBLAS "
            "without the linker wrapper; rebuild with -DPADDLER_LLAMAFILE=OFF");
    }
    if (!backend.tinyblas_decline(pool)) {
        throw std::runtime_error("too many deterministic CPU threadpools in one process (64)");
    }
}

void forget(ggml_threadpool* pool) {
    if (pool == nullptr) return;
    const CpuBackend& backend = cpu_backend();
    if (backend.tinyblas_restore != nullptr) backend.tinyblas_restore(pool);
}

std::uint64_t tinyblas_products() {
    const CpuBackend& backend = cpu_backend();
    return backend.tinyblas_products != nullptr ? backend.tinyblas_products() : 0;
}

}  // namespace paddler::matrix_kernels
