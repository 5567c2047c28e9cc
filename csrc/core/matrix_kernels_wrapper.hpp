// The tinyBLAS switch's C entry points (matrix_kernels_wrapper.cpp). They are
// compiled wherever ggml-cpu's llamafile_sgemm is linked: into this extension
// for a source build, into every CPU backend module for a wheel, where the
// engine finds them with dlsym (cpu_backend.cpp).
#pragma once

#include <cstdint>

struct ggml_threadpool;

extern "C" {
// Products of this pool's graphs take ggml's batch-invariant kernels. Returns
// false when the table is full.
bool paddler_tinyblas_decline(ggml_threadpool* pool);
void paddler_tinyblas_restore(ggml_threadpool* pool);
std::uint64_t paddler_tinyblas_products();
}
