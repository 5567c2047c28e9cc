// Embeddings on a llama context of their own, beside the generation context
// and sharing the model's weights. An embedding batch therefore never waits
// for token generation and never stalls it: both run at once (they share the
// CPU, or the GPU, but neither blocks the other).
//
// Documents are packed into batches of at most `embedding_batch_size` tokens
// (one sequence per document); a larger input is processed in several such
// batches. A document longer than one batch is refused, as a non-causal
// model must see a document in one piece.
//
// Thread contract: embed() and token_counts() may be called from any thread;
// embed() calls are serialized on the runner's own mutex (token_counts() only
// reads the vocabulary and takes no lock).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "cpu_threadpools.hpp"
#include "embedding_normalization.hpp"
#include "types.hpp"

struct llama_model;
struct llama_context;

namespace paddler {

// Computing embeddings failed: the engine's fault, not the documents'.
class EmbeddingError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A document that cannot be embedded as sent (empty, or longer than one
// embedding batch): the caller's fault.
class EmbeddingInputError : public EmbeddingError {
  public:
    using EmbeddingError::EmbeddingError;
};

class EmbeddingRunner {
  public:
    EmbeddingRunner(llama_model* model, const EngineParams& params);
    ~EmbeddingRunner();
    EmbeddingRunner(const EmbeddingRunner&) = delete;
    EmbeddingRunner& operator=(const EmbeddingRunner&) = delete;

    // Throws EmbeddingInputError for a bad document (before any is computed)
    // and EmbeddingError when llama.cpp fails.
    std::vector<EmbeddingResult> embed(const std::vector<EmbeddingInput>& inputs, const Normalization& normalization);
    // How many tokens each document takes, as embed() counts them; throws
    // EmbeddingInputError for the first document embed() would refuse.
    std::vector<std::uint32_t> token_counts(const std::vector<EmbeddingInput>& inputs) const;
    std::uint32_t batch_size() const { return batch_size_; }
    std::uint32_t max_sequences() const { return max_sequences_; }
    PoolingType pooling_type() const { return pooling_type_; }

  private:
    std::vector<std::vector<std::int32_t>> tokenize(const std::vector<EmbeddingInput>& inputs) const;
    void run_batch(const std::vector<std::vector<std::int32_t>>& documents, std::size_t first,
                   std::size_t count, const Normalization& normalization, std::vector<EmbeddingResult>& results);

    llama_model* model_;
    // Outlives context_ (freed in the destructor's body).
    std::unique_ptr<CpuThreadpools> threadpools_;
    llama_context* context_ = nullptr;
    std::uint32_t batch_size_;
    std::uint32_t max_sequences_;
    PoolingType pooling_type_;
    std::mutex mutex_;
};

}  // namespace paddler
