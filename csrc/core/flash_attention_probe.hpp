// Whether llama.cpp's flash-attention kernel pays on this CPU, for this model
// and this engine's slots, decided from a short measurement at model load.
//
// Why a measurement and not a constant: on the CPU the flash-attention kernel
// prefills faster at every depth and decodes batches faster at short and
// middle depths, but decodes a single deep sequence slower than a matrix
// product followed by a softmax (llama-bench on an AMD EPYC, SmolLM2, 2
// threads: 1.2-1.6x faster prompt processing, decoding 72 against 74 tok/s at
// a depth of 2048 and 26 against 39 at 7000). Where the crossover lies depends
// on the CPU, the model's heads and the slots' context, and the choice is
// fixed for a context's life (it decides the KV cache's layout).
//
// The probe times one layer's attention both ways with the model's head
// shapes on the engine's thread count, a prompt batch and a decode step of
// every slot at depths spread through a slot's context, and weighs them as a
// slot's life of three prompt tokens to one generated. Only the attention
// differs between the two graphs llama.cpp builds, so this part decides. It
// takes about a second at load for the model sizes a CPU serves; large
// depths are sampled at a cap and scaled linearly. A result is kept for the
// process's life and reused for the same shapes and threads (thread-safe).
//
// The engine asks it only for one-slot engines (engine.cpp): with several
// slots decoding together it rated flash attention slower where whole-model
// runs found it faster (a Zen 4 VM, 4 slots: the probe 27% slower, the engine
// 7-18% faster), and a measurement that disagrees with the real thing must
// not decide. On the same VM, one stream at a depth of 3000 decodes at 58
// tok/s without it against 44 with it, and the probe agrees.
#pragma once

#include <cstdint>
#include <string>

struct llama_model;

namespace paddler {

struct FlashAttentionProbe {
    bool enable = false;
    // Estimated attention seconds per slot life, summed over layers, each way.
    double seconds_with = 0.0;
    double seconds_without = 0.0;
    // One line for the log: what was measured and what was chosen.
    std::string summary;
};

FlashAttentionProbe probe_flash_attention(const llama_model* model, std::uint32_t slots, std::uint32_t context_size,
                                          std::uint32_t n_ubatch, std::int32_t threads, bool batch_invariant);

}  // namespace paddler
