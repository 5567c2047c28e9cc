#include "flash_attention_probe.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <stdexcept>
#include <vector>

#include <unistd.h>

#include "cpu_backend.hpp"
#include "ggml-cpu.h"
#include "ggml.h"
#include "llama.h"
#include "matrix_kernels.hpp"

namespace paddler {

namespace {

// Depths past this are timed here and scaled linearly: attention at depth d
// costs d times the work per key, and a deeper sample would only make the
// probe slow and its buffers large.
constexpr std::int64_t kDepthCap = 4096;
// Tokens of the prompt batch timed; a full 512-token ubatch would need a
// score matrix of hundreds of MB for a large model's heads.
constexpr std::int64_t kPromptBatchCap = 128;
// Slots timed in a decode step.
constexpr std::int64_t kStreamCap = 8;
// Runs per measured point: at least kMinRuns, then more while under the budget.
constexpr int kMinRuns = 4;
constexpr int kRuns = 8;
constexpr double kBudgetPerPoint = 0.05;
// Written over before each timed run: twice the last-level cache, 64 MB where
// the system does not say, never past 256 MB.
constexpr std::size_t kEvictionDefaultBytes = std::size_t{64} << 20;
constexpr std::size_t kEvictionMaxBytes = std::size_t{256} << 20;
// How much slower flash attention may measure and still be chosen (see the tie rule below).
constexpr double kTieMargin = 1.1;
// llama.cpp attends over the used cells rounded up to this (llama_kv_cache::get_n_kv).
constexpr std::int64_t kCellPadding = 256;

struct Heads {
    std::int64_t head_dim_k = 0;
    std::int64_t head_dim_v = 0;
    std::int64_t heads = 0;
    std::int64_t kv_heads = 0;
    std::int64_t layers = 0;
};

std::int64_t metadata_int(const llama_model* model, const std::string& key, std::int64_t fallback) {
    char buffer[64];
    if (llama_model_meta_val_str(model, key.c_str(), buffer, sizeof buffer) <= 0) return fallback;
    try {
        return std::stoll(buffer);
    } catch (const std::exception&) {
        return fallback;
    }
}

Heads heads_of(const llama_model* model) {
    Heads heads;
    heads.heads = std::max<std::int64_t>(1, llama_model_n_head(model));
    heads.kv_heads = std::max<std::int64_t>(1, llama_model_n_head_kv(model));
    heads.layers = std::max<std::int64_t>(1, llama_model_n_layer(model));
    char arch[64] = {0};
    llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch);
    const std::int64_t fallback = std::max<std::int64_t>(1, llama_model_n_embd(model) / heads.heads);
    // Models whose head size is not n_embd / n_head (Gemma and others) say so.
    heads.head_dim_k = metadata_int(model, std::string(arch) + ".attention.key_length", fallback);
    heads.head_dim_v = metadata_int(model, std::string(arch) + ".attention.value_length", heads.head_dim_k);
    if (heads.heads % heads.kv_heads != 0) heads.kv_heads = heads.heads;
    return heads;
}

void fill(ggml_tensor* tensor) {
    // Varied values, so the softmax's running maximum moves as it would on
    // real scores; a constant would spare the kernel its rescaling.
    const std::int64_t count = ggml_nelements(tensor);
    std::uint32_t state = 12345;
    if (tensor->type == GGML_TYPE_F32) {
        auto* data = static_cast<float*>(tensor->data);
        for (std::int64_t i = 0; i < count; ++i) {
            state = state * 1664525u + 1013904223u;
            data[i] = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
        }
    } else {
        auto* data = static_cast<ggml_fp16_t*>(tensor->data);
        for (std::int64_t i = 0; i < count; ++i) {
            state = state * 1664525u + 1013904223u;
            data[i] = ggml_fp32_to_fp16(static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f);
        }
    }
}

struct ContextDeleter {
    void operator()(ggml_context* context) const { ggml_free(context); }
};

struct ThreadpoolDeleter {
    void operator()(ggml_threadpool* pool) const { cpu_backend().threadpool_free(pool); }
};

// One layer's attention over `streams` sequences, each with `tokens` new
// tokens after `visible` cached ones, in a window of `depth` cells, laid out
// as llama.cpp's KV cache lays them out (a per-stream cache, V transposed
// without flash attention), ready to compute. The window is wider than what
// the tokens see, as llama.cpp's is: it pads the cells it attends over to a
// multiple of 256 and masks the rest, which the flash-attention kernel skips
// and the matrix product computes.
class AttentionGraph {
  public:
    AttentionGraph(const Heads& heads, std::int64_t streams, std::int64_t tokens, std::int64_t visible,
                   std::int64_t depth, bool flash, std::int32_t threads, ggml_threadpool* pool) {
        const std::int64_t hk = heads.head_dim_k;
        const std::int64_t hv = heads.head_dim_v;
        const std::int64_t scores = depth * tokens * heads.heads * streams;
        const std::size_t bytes = static_cast<std::size_t>(
            (hk * heads.heads * tokens * streams) * 4 +        // q
            (hk * heads.kv_heads * depth * streams) * 2 +      // k
            (hv * heads.kv_heads * depth * streams) * 2 +      // v
            depth * tokens * 4 +                               // mask
            (flash ? 0 : scores * 4) * 2 +                     // scores, softmax
            (hv * heads.heads * tokens * streams) * 4 * 3) +   // output, permuted copy
            64 * ggml_tensor_overhead() + ggml_graph_overhead() + (1u << 20);
        ggml_init_params init{bytes, nullptr, false};
        context_.reset(ggml_init(init));
        if (!context_) throw std::runtime_error("no memory for the flash attention probe");
        ggml_context* ctx = context_.get();

        ggml_tensor* q = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, hk, heads.heads, tokens, streams);
        ggml_tensor* k = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, hk, heads.kv_heads, depth, streams);
        ggml_tensor* v = flash ? ggml_new_tensor_4d(ctx, GGML_TYPE_F16, hv, heads.kv_heads, depth, streams)
                               : ggml_new_tensor_4d(ctx, GGML_TYPE_F16, depth, hv, heads.kv_heads, streams);
        ggml_tensor* mask = ggml_new_tensor_4d(ctx, flash ? GGML_TYPE_F16 : GGML_TYPE_F32, depth, tokens, 1, 1);
        for (ggml_tensor* tensor : {q, k, v}) fill(tensor);
        // Causal: new token i sees the cached cells and the new ones up to itself.
        for (std::int64_t row = 0; row < tokens; ++row) {
            for (std::int64_t cell = 0; cell < depth; ++cell) {
                const float value = cell < visible + row + 1 ? 0.0f : -INFINITY;
                const std::int64_t at = row * depth + cell;
                if (mask->type == GGML_TYPE_F32) {
                    static_cast<float*>(mask->data)[at] = value;
                } else {
                    static_cast<ggml_fp16_t*>(mask->data)[at] = ggml_fp32_to_fp16(value);
                }
            }
        }

        const float scale = 1.0f / std::sqrt(static_cast<float>(hk));
        ggml_tensor* qp = ggml_permute(ctx, q, 0, 2, 1, 3);
        ggml_tensor* kp = ggml_permute(ctx, k, 0, 2, 1, 3);
        ggml_tensor* out = nullptr;
        if (flash) {
            out = ggml_flash_attn_ext(ctx, qp, kp, ggml_permute(ctx, v, 0, 2, 1, 3), mask, scale, 0.0f, 0.0f);
            ggml_prec_set_acc(out, GGML_PREC_F32);
        } else {
            ggml_tensor* kq = ggml_mul_mat(ctx, kp, qp);
            ggml_prec_set_acc(kq, GGML_PREC_F32);
            kq = ggml_soft_max_ext(ctx, kq, mask, scale, 0.0f);
            out = ggml_cont(ctx, ggml_permute(ctx, ggml_mul_mat(ctx, v, kq), 0, 2, 1, 3));
        }
        graph_ = ggml_new_graph(ctx);
        ggml_build_forward_expand(graph_, out);
        plan_ = cpu_backend().graph_plan(graph_, threads, pool);
        work_.resize(plan_.work_size);
        plan_.work_data = work_.data();
    }

    double compute() {
        const auto started = std::chrono::steady_clock::now();
        if (cpu_backend().graph_compute(graph_, &plan_) != GGML_STATUS_SUCCESS) {
            throw std::runtime_error("the flash attention probe's graph failed");
        }
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
        return took.count();
    }

  private:
    std::unique_ptr<ggml_context, ContextDeleter> context_;
    ggml_cgraph* graph_ = nullptr;
    ggml_cplan plan_{};
    std::vector<std::uint8_t> work_;
};

// In a real decode step every layer reads its own KV cells, and all layers'
// cells together outgrow the CPU's caches: each layer finds its cells in
// memory. A probe that reran one layer on the same few MB would time them
// from the cache instead, so it writes over a buffer larger than the caches
// before every run.
class Eviction {
  public:
    Eviction() : buffer_(eviction_bytes() / sizeof(std::uint64_t), 0) {}
    void evict() {
        for (std::size_t i = 0; i < buffer_.size(); i += 8) buffer_[i] += i;
    }

  private:
    // Twice the last-level cache where the system says its size, within bounds.
    static std::size_t eviction_bytes() {
        const long reported = sysconf(_SC_LEVEL3_CACHE_SIZE);
        const std::size_t cache = reported > 0 ? static_cast<std::size_t>(reported) : kEvictionDefaultBytes / 2;
        return std::clamp<std::size_t>(cache * 2, kEvictionDefaultBytes / 4, kEvictionMaxBytes);
    }

    std::vector<std::uint64_t> buffer_;
};

struct PairSeconds {
    double with = 0.0;
    double without = 0.0;
};

// Both ways for the same tokens, computed in turns (the machine drifts, and
// other processes come and go on a small one), each the fastest of its runs.
// Windows past the cap are sampled at the cap, with the same visible share,
// and scaled.
PairSeconds time_both(const Heads& heads, std::int64_t streams, std::int64_t tokens, std::int64_t visible,
                      std::int64_t slot_cells, std::int32_t threads, ggml_threadpool* pool) {
    const std::int64_t window =
        std::min(slot_cells, (visible + tokens + kCellPadding - 1) / kCellPadding * kCellPadding);
    const std::int64_t sampled = std::clamp<std::int64_t>(window, 1, kDepthCap);
    const double share = static_cast<double>(sampled) / static_cast<double>(window);
    const auto sampled_visible = static_cast<std::int64_t>(static_cast<double>(visible) * share);
    AttentionGraph with(heads, streams, tokens, sampled_visible, sampled, true, threads, pool);
    AttentionGraph without(heads, streams, tokens, sampled_visible, sampled, false, threads, pool);
    PairSeconds best{1e30, 1e30};
    double spent = 0.0;
    Eviction eviction;
    for (int run = 0; run < kRuns && (run < kMinRuns || spent < kBudgetPerPoint); ++run) {
        eviction.evict();
        const double a = with.compute();
        eviction.evict();
        const double b = without.compute();
        spent += a + b;
        if (run == 0) continue;  // warms the caches and wakes the threads
        best.with = std::min(best.with, a);
        best.without = std::min(best.without, b);
    }
    return {best.with / share, best.without / share};
}

}  // namespace

namespace {

// What a probe's result depends on: the attention's shapes and the threads.
// The machine is the same for the process's life.
using ProbeKey = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::uint32_t,
                            std::uint32_t, std::uint32_t, std::int32_t, bool>;

// Earlier results, so that an agent moved back and forth between model pools
// (or reloading the same model) does not pay the probe's second at every load.
std::mutex g_probes_mutex;
std::map<ProbeKey, FlashAttentionProbe> g_probes;

}  // namespace

FlashAttentionProbe probe_flash_attention(const llama_model* model, std::uint32_t slots, std::uint32_t context_size,
                                          std::uint32_t n_ubatch, std::int32_t threads, bool batch_invariant) {
    const Heads heads = heads_of(model);
    const ProbeKey key{heads.head_dim_k, heads.head_dim_v, heads.heads, heads.kv_heads, heads.layers,
                       slots,            context_size,     n_ubatch,    threads,        batch_invariant};
    {
        std::lock_guard lock(g_probes_mutex);
        if (const auto found = g_probes.find(key); found != g_probes.end()) {
            FlashAttentionProbe known = found->second;
            known.summary += " (measured at an earlier load of the same shapes)";
            return known;
        }
    }
    const auto context = static_cast<std::int64_t>(std::max<std::uint32_t>(context_size, 8));
    // A decode step costs each slot its own attention, so a few slots stand for
    // many: 64 slots of a large model would need GBs of probe buffers.
    const auto sampled_streams = std::min<std::int64_t>(std::max<std::uint32_t>(slots, 1), kStreamCap);
    const std::int64_t prompt_batch_tokens =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(n_ubatch), 1, std::min(kPromptBatchCap, context / 2));

    ggml_threadpool_params pool_params = ggml_threadpool_params_default(std::max(threads, 1));
    std::unique_ptr<ggml_threadpool, ThreadpoolDeleter> pool(cpu_backend().threadpool_new(&pool_params));
    if (!pool) throw std::runtime_error("cannot start the flash attention probe's threads");
    // Without flash attention the scores are matrix products: timed with the
    // kernels the engine's own threads will use.
    struct Registration {
        ggml_threadpool* pool;
        ~Registration() { matrix_kernels::forget(pool); }
    };
    std::optional<Registration> registration;
    if (batch_invariant) {
        matrix_kernels::use_batch_invariant(pool.get());
        registration.emplace(Registration{pool.get()});
    }

    // A slot's life: its context filled by conversation turns, where prompt
    // tokens outnumber generated ones three to one (each turn resends the
    // history; chat traffic reads far more than it writes). Both kinds meet
    // every depth: prompt batches are timed in the middle of the context,
    // decode steps with every slot busy at a quarter and three quarters. The
    // depths a token meets are where it lands plus, on average, half of
    // llama.cpp's cell padding past it.
    const std::int64_t half_padding = kCellPadding / 2;
    const PairSeconds prompt_batch_seconds =
        time_both(heads, 1, prompt_batch_tokens, context / 2 + half_padding, context, threads, pool.get());
    PairSeconds step_seconds;
    for (const std::int64_t quarters : {1, 3}) {
        const PairSeconds step =
            time_both(heads, sampled_streams, 1, context * quarters / 4 + half_padding, context, threads, pool.get());
        step_seconds.with += step.with / 2.0;
        step_seconds.without += step.without / 2.0;
    }
    const double prompt_tokens = static_cast<double>(context) * 3.0 / 4.0;
    const double generated_tokens = static_cast<double>(context) - prompt_tokens;
    auto life = [&](double prompt_batch, double step) {
        const double prompt = prompt_batch * prompt_tokens / static_cast<double>(prompt_batch_tokens);
        // One step advances every sampled slot by a token.
        const double generation = step / static_cast<double>(sampled_streams) * generated_tokens;
        return (prompt + generation) * static_cast<double>(heads.layers);
    };

    FlashAttentionProbe probe;
    probe.seconds_with = life(prompt_batch_seconds.with, step_seconds.with);
    probe.seconds_without = life(prompt_batch_seconds.without, step_seconds.without);
    // Ties go to flash attention: it also spares what this probe leaves out
    // (writing V transposed into the cache, a softmax buffer per batch) and
    // prefills faster, which is time to first token. Off only when it clearly loses.
    probe.enable = probe.seconds_with < probe.seconds_without * kTieMargin;
    char line[256];
    std::snprintf(line, sizeof line,
                  "flash attention %s on the CPU: a slot's attention estimated at %.3f s with it, %.3f s without "
                  "(%u slot%s of %u tokens, %d threads)",
                  probe.enable ? "on" : "off", probe.seconds_with, probe.seconds_without, slots,
                  slots == 1 ? "" : "s", context_size, threads);
    probe.summary = line;
    std::lock_guard lock(g_probes_mutex);
    g_probes.emplace(key, probe);
    return probe;
}

}  // namespace paddler
