#include "embedding_runner.hpp"

#include <algorithm>

#include "common.h"
#include "llama.h"
#include "llama_log.hpp"

namespace paddler {

namespace {

constexpr std::uint32_t kMaxSequencesPerBatch = 64;

enum llama_pooling_type to_llama(PoolingType type) {
    switch (type) {
        case PoolingType::Unspecified: return LLAMA_POOLING_TYPE_UNSPECIFIED;
        case PoolingType::None: return LLAMA_POOLING_TYPE_NONE;
        case PoolingType::Mean: return LLAMA_POOLING_TYPE_MEAN;
        case PoolingType::Cls: return LLAMA_POOLING_TYPE_CLS;
        case PoolingType::Last: return LLAMA_POOLING_TYPE_LAST;
        case PoolingType::Rank: return LLAMA_POOLING_TYPE_RANK;
    }
    return LLAMA_POOLING_TYPE_UNSPECIFIED;
}

PoolingType from_llama(enum llama_pooling_type type) {
    switch (type) {
        case LLAMA_POOLING_TYPE_NONE: return PoolingType::None;
        case LLAMA_POOLING_TYPE_MEAN: return PoolingType::Mean;
        case LLAMA_POOLING_TYPE_CLS: return PoolingType::Cls;
        case LLAMA_POOLING_TYPE_LAST: return PoolingType::Last;
        case LLAMA_POOLING_TYPE_RANK: return PoolingType::Rank;
        default: return PoolingType::Unspecified;
    }
}

}  // namespace

EmbeddingRunner::EmbeddingRunner(llama_model* model, const EngineParams& params)
    : model_(model), batch_size_(params.embedding_batch_size), max_sequences_(kMaxSequencesPerBatch) {
    if (batch_size_ == 0) {
        throw std::invalid_argument("embedding_batch_size must be at least 1");
    }
    llama_context_params ctx_params = llama_context_default_params();
    ctx_params.embeddings = true;
    ctx_params.pooling_type = to_llama(params.pooling_type);
    ctx_params.n_ctx = batch_size_;
    // Non-causal models need a whole document in one micro-batch.
    ctx_params.n_batch = batch_size_;
    ctx_params.n_ubatch = batch_size_;
    ctx_params.n_seq_max = max_sequences_;
    // One buffer for all sequences: a batch of many short documents shares it.
    ctx_params.kv_unified = true;
    const std::int32_t threads = params.threads > 0 ? params.threads : common_cpu_get_num_math();
    ctx_params.n_threads = threads;
    ctx_params.n_threads_batch = params.threads_batch > 0 ? params.threads_batch : threads;
    ctx_params.no_perf = true;
    // Off on the CPU, whatever generation measured for itself
    // (flash_attention_probe.hpp): there the flash-attention kernel made a
    // document's vector depend on which other documents shared its batch.
    ctx_params.flash_attn_type = params.n_gpu_layers != 0 && llama_supports_gpu_offload() ? LLAMA_FLASH_ATTN_TYPE_AUTO
                                                                                         : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    LogCapture capture;
    threadpools_ = std::make_unique<CpuThreadpools>(ctx_params.n_threads, ctx_params.n_threads_batch, params.thread_poll,
                                                    params.deterministic);
    context_ = llama_init_from_model(model_, ctx_params);
    if (context_ == nullptr) {
        throw EmbeddingError("cannot create the embedding context: " + capture.text("llama.cpp gave no reason"));
    }
    threadpools_->attach(context_);
    pooling_type_ = from_llama(llama_pooling_type(context_));
}

EmbeddingRunner::~EmbeddingRunner() {
    if (context_ != nullptr) llama_free(context_);
}

std::vector<std::vector<std::int32_t>> EmbeddingRunner::tokenize(const std::vector<EmbeddingInput>& inputs) const {
    const llama_vocab* vocab = llama_model_get_vocab(model_);
    std::vector<std::vector<std::int32_t>> documents;
    documents.reserve(inputs.size());
    for (const auto& input : inputs) {
        auto tokens = common_tokenize(vocab, input.content, true, false);
        if (tokens.empty()) {
            throw EmbeddingInputError("document \"" + input.id + "\" is empty");
        }
        if (tokens.size() > batch_size_) {
            throw EmbeddingInputError("document \"" + input.id + "\" has " + std::to_string(tokens.size()) +
                                      " tokens; the embedding batch size is " + std::to_string(batch_size_));
        }
        documents.push_back(std::move(tokens));
    }
    return documents;
}

std::vector<std::uint32_t> EmbeddingRunner::token_counts(const std::vector<EmbeddingInput>& inputs) const {
    const auto documents = tokenize(inputs);
    std::vector<std::uint32_t> counts;
    counts.reserve(documents.size());
    for (const auto& tokens : documents) counts.push_back(static_cast<std::uint32_t>(tokens.size()));
    return counts;
}

std::vector<EmbeddingResult> EmbeddingRunner::embed(const std::vector<EmbeddingInput>& inputs,
                                                    const Normalization& normalization) {
    const auto documents = tokenize(inputs);

    std::lock_guard lock(mutex_);
    std::vector<EmbeddingResult> results(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        results[i].id = inputs[i].id;
        results[i].token_count = static_cast<std::uint32_t>(documents[i].size());
    }
    std::size_t first = 0;
    while (first < documents.size()) {
        std::size_t count = 0;
        std::size_t tokens = 0;
        while (first + count < documents.size() && count < max_sequences_ &&
               tokens + documents[first + count].size() <= batch_size_) {
            tokens += documents[first + count].size();
            ++count;
        }
        run_batch(documents, first, count, normalization, results);
        first += count;
    }
    return results;
}

void EmbeddingRunner::run_batch(const std::vector<std::vector<std::int32_t>>& documents, std::size_t first,
                                std::size_t count, const Normalization& normalization,
                                std::vector<EmbeddingResult>& results) {
    std::size_t total = 0;
    for (std::size_t d = 0; d < count; ++d) total += documents[first + d].size();
    llama_batch batch = llama_batch_init(static_cast<std::int32_t>(total), 0, 1);
    struct FreeBatch {
        llama_batch& batch;
        ~FreeBatch() { llama_batch_free(batch); }
    } free_batch{batch};
    for (std::size_t d = 0; d < count; ++d) {
        const auto& tokens = documents[first + d];
        for (std::size_t p = 0; p < tokens.size(); ++p) {
            const std::int32_t i = batch.n_tokens++;
            batch.token[i] = tokens[p];
            batch.pos[i] = static_cast<llama_pos>(p);
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = static_cast<llama_seq_id>(d);
            batch.logits[i] = 1;  // every token's output feeds the pooling
        }
    }
    if (llama_memory_t memory = llama_get_memory(context_)) {
        llama_memory_clear(memory, true);
    }
    LogCapture capture;
    const bool encoder_only = llama_model_has_encoder(model_) && !llama_model_has_decoder(model_);
    const std::int32_t status = encoder_only ? llama_encode(context_, batch) : llama_decode(context_, batch);
    if (status != 0) {
        throw EmbeddingError("computing embeddings failed (code " + std::to_string(status) +
                             "): " + capture.text("llama.cpp gave no reason"));
    }
    const std::uint32_t dimension = pooling_type_ == PoolingType::Rank
                                        ? std::max<std::uint32_t>(1, llama_model_n_cls_out(model_))
                                        : static_cast<std::uint32_t>(llama_model_n_embd(model_));
    std::int32_t token_index = 0;
    for (std::size_t d = 0; d < count; ++d) {
        EmbeddingResult& result = results[first + d];
        result.dimension = dimension;
        const auto n_tokens = static_cast<std::int32_t>(documents[first + d].size());
        if (pooling_type_ == PoolingType::None) {
            // No pooling: every token's vector, each normalized on its own.
            for (std::int32_t t = 0; t < n_tokens; ++t) {
                const float* row = llama_get_embeddings_ith(context_, token_index + t);
                std::vector<float> vector(row, row + dimension);
                normalize_embedding(vector, normalization);
                result.embedding.insert(result.embedding.end(), vector.begin(), vector.end());
            }
        } else {
            const float* pooled = llama_get_embeddings_seq(context_, static_cast<llama_seq_id>(d));
            if (pooled == nullptr) {
                throw EmbeddingError("llama.cpp returned no embedding for document \"" + result.id + "\"");
            }
            result.embedding.assign(pooled, pooled + dimension);
            // A reranking score is a score, not a direction.
            if (pooling_type_ != PoolingType::Rank) normalize_embedding(result.embedding, normalization);
        }
        token_index += n_tokens;
    }
}

}  // namespace paddler
