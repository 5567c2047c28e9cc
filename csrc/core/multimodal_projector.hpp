// A vision model's multimodal projector (mmproj), loaded with llama.cpp's
// mtmd library beside the text model: it turns the images of a prompt into
// chunks of embeddings the text model takes like tokens.
//
// Thread contract: tokenize(), the queries and metadata() may be called from
// any thread at any time (mtmd_tokenize only reads the context). encode() runs
// the vision encoder on the context's own compute buffers: one call at a
// time, which the ImageEncoder's single thread guarantees.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct llama_model;
struct mtmd_context;
struct mtmd_input_chunk;
struct mtmd_input_chunks;

namespace paddler {

struct ImageInput;

struct MtmdChunkDeleter {
    void operator()(mtmd_input_chunk* chunk) const;
};
// Shared by a request and the encoder job working on it: either may end first.
using SharedChunk = std::shared_ptr<mtmd_input_chunk>;

struct MtmdChunksDeleter {
    void operator()(mtmd_input_chunks* chunks) const;
};
using ChunksPtr = std::unique_ptr<mtmd_input_chunks, MtmdChunksDeleter>;

// Why mtmd_tokenize refused a prompt with images.
enum class TokenizeOutcome : std::uint8_t { Ok, MarkerCountMismatch, ImageRejected };

class MultimodalProjector {
  public:
    // Throws std::runtime_error with llama.cpp's reason when the file is not
    // a projector this build reads, or does not fit the text model.
    MultimodalProjector(const std::string& path, const llama_model* text_model, bool use_gpu, std::int32_t threads);
    ~MultimodalProjector();
    MultimodalProjector(const MultimodalProjector&) = delete;
    MultimodalProjector& operator=(const MultimodalProjector&) = delete;

    // The text that stands for one image in a rendered prompt: random per
    // projector, so a user's text cannot pass for an image.
    const std::string& marker() const { return marker_; }
    // M-RoPE models (Qwen2-VL and its kin) place image embeddings on a 2D
    // grid of positions; the engine keeps one position per cache cell.
    bool uses_mrope() const;
    // Embedding width of one image token (the text model's input width).
    std::int32_t embedding_size() const { return embedding_size_; }
    // Image chunks of this projector attend to themselves both ways: the
    // whole chunk must be decoded in one micro-batch.
    bool non_causal(const mtmd_input_chunk* chunk) const;

    TokenizeOutcome tokenize(const std::string& prompt, bool add_special, const std::vector<ImageInput>& images,
                             ChunksPtr& out) const;

    // The embeddings of one image chunk (n_tokens * embedding_size floats);
    // throws std::runtime_error when the encoder fails. One call at a time.
    std::vector<float> encode(const mtmd_input_chunk* chunk);

    // The projector file's GGUF keys, as text, each prefixed with "mmproj.".
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

  private:
    mtmd_context* context_ = nullptr;
    std::string marker_;
    std::int32_t embedding_size_ = 0;
    std::map<std::string, std::string> metadata_;
};

}  // namespace paddler
