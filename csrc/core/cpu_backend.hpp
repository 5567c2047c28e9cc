// ggml's CPU backend as the engine reaches it, linked in or loaded at run time.
//
// A source build links one CPU backend compiled for the build machine. A wheel
// must run on any x86-64 CPU, so it ships ggml's CPU backend once per CPU
// generation (haswell, skylakex, icelake, zen4, ...) as modules and loads the
// best one the CPU runs (GGML_BACKEND_DL). The functions of ggml-cpu the
// engine calls directly (its threadpools, the flash-attention probe's graphs)
// then live in that module, not in our extension: they are reached through
// this table, filled from whichever CPU backend is in use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml-cpu.h"

namespace paddler {

struct CpuBackend {
    ggml_threadpool* (*threadpool_new)(ggml_threadpool_params* params) = nullptr;
    void (*threadpool_free)(ggml_threadpool* pool) = nullptr;
    void (*threadpool_pause)(ggml_threadpool* pool) = nullptr;
    ggml_cplan (*graph_plan)(const ggml_cgraph* graph, int threads, ggml_threadpool* pool) = nullptr;
    ggml_status (*graph_compute)(ggml_cgraph* graph, ggml_cplan* plan) = nullptr;
    // Our tinyBLAS switch (matrix_kernels_wrapper.cpp), which lives beside
    // ggml-cpu's llamafile_sgemm: in this module or in the loaded one. Null when
    // the build has no wrapper.
    bool (*tinyblas_decline)(ggml_threadpool* pool) = nullptr;
    void (*tinyblas_restore)(ggml_threadpool* pool) = nullptr;
    std::uint64_t (*tinyblas_products)() = nullptr;
    // "built-in" for a linked backend, else the variant's name ("zen4").
    std::string variant;
};

// Loads the backends once (modules: the best CPU variant and every GPU
// backend shipped beside us) and returns the CPU backend's table. Throws
// std::runtime_error when no CPU variant can run here.
const CpuBackend& cpu_backend();

// What the loader saw: every CPU variant shipped, its ggml score on this CPU
// (0: cannot run here), and whether it was refused for another reason.
struct CpuVariantChoice {
    std::string name;
    std::int32_t score = 0;
    std::string refused;  // empty when it could be chosen
    bool chosen = false;
};
std::vector<CpuVariantChoice> cpu_variant_choices();

// Whether this process may execute AMX instructions: the CPU reports AMX,
// the OS enables its tile state, grants it to this process, and a child
// process that executes one is not killed for it. Virtual machines report
// AMX and fault on it; ggml's own check reads only the CPU's report.
bool amx_usable();

}  // namespace paddler
