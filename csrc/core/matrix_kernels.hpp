// Which matrix kernels ggml's CPU backend uses for the graphs of a threadpool.
//
// llamafile's tinyBLAS computes matrix products of two or more columns (a
// prompt batch, or several slots decoding at once) faster than ggml's dot
// products, which llama.cpp keeps for one column. The two sum in different
// orders, so a token's logits depend on how many tokens shared its batch: a
// prompt prefilled whole and the same prompt resumed from a cached prefix, or
// a stream alone and the same stream beside others, can then pick different
// greedy tokens (llama-server behaves the same way). Users compare tokens per
// second first, so tinyBLAS is the default; an engine started deterministic
// registers its threadpools here and their products take ggml's path, whose
// rounding does not depend on the batch.
//
// How: the build links with -Wl,--wrap=llamafile_sgemm (CMakeLists.txt), so
// ggml-cpu's call lands in our wrapper, which declines for registered pools
// (ggml then computes the product itself) and passes the rest on.
#pragma once

#include <cstdint>

struct ggml_threadpool;

namespace paddler::matrix_kernels {

// Whether ggml-cpu was built with tinyBLAS at all.
bool tinyblas_built();
// Whether an engine may choose per threadpool (tinyBLAS built and wrapped);
// without tinyBLAS every product is batch-invariant already.
bool choosable();
// Products of this pool's graphs take ggml's batch-invariant path until
// forget(). Throws std::runtime_error when the build cannot choose (tinyBLAS
// built without the wrapper, as on linkers without --wrap).
void use_batch_invariant(ggml_threadpool* pool);
void forget(ggml_threadpool* pool);
// Matrix products tinyBLAS has computed in this process: a witness for tests
// and diagnostics that the choice took effect.
std::uint64_t tinyblas_products();

}  // namespace paddler::matrix_kernels
