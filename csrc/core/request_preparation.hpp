// Turns a Request into what the engine thread runs: prompt tokens, a sampler
// chain (with its grammar) and, for conversations, the output classifier.
//
// It runs on the submitting thread, so rendering a chat template, tokenizing
// a long prompt or compiling a grammar never stalls the batch of the other
// requests. Every problem with a request comes back as a PreparationFailure,
// never as an exception.
//
// Thread contract: prepare() is const and may run on several threads at once;
// the chat templates and the vocabulary are only read. Templates are compiled
// and rendered on a thread of their own with a large stack
// (large_stack.hpp); the caller waits for it.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "chat.h"
#include "multimodal_projector.hpp"
#include "output_classifier.hpp"
#include "sampling.h"
#include "types.hpp"

namespace paddler {

// An image chunk of a prompt. In prompt_tokens it stands as n_tokens
// placeholder ids (negative, derived from the image's id), so that a slot's
// cache compares with a new prompt token by token, images included.
struct PreparedImage {
    std::size_t start = 0;  // index of its first placeholder in prompt_tokens
    std::uint32_t n_tokens = 0;
    bool non_causal = false;
    SharedChunk chunk;  // what the encoder turns into embeddings
};

struct PreparedRequest {
    RequestId id = 0;
    std::vector<std::int32_t> prompt_tokens;
    std::vector<PreparedImage> images;  // in prompt order
    std::int32_t image_tokens = 0;
    std::int32_t max_tokens = 0;
    std::vector<std::string> stop;  // the caller's, plus the chat format's own
    bool has_grammar = false;
    common_sampler_ptr sampler;
    // Greedy with nothing that reshapes the logits: an argmax over them is the
    // same choice as the sampler chain's, without building and scanning a
    // candidate array of the whole vocabulary several times per token.
    bool plain_argmax = false;
    bool skip_end_of_generation = false;  // ignore_eos
    // Special tokens the output parser must see as text (thinking markers,
    // tool-call markers); other special tokens are rendered as nothing.
    std::set<std::int32_t> preserved_tokens;
    std::optional<OutputClassifier> classifier;  // conversations only
};

struct PreparationFailure {
    ErrorKind kind = ErrorKind::InvalidRequest;
    std::string message;
    std::int32_t prompt_tokens = 0;
    // ImageExceedsBatchSize: the image's tokens and the most one batch takes.
    std::uint32_t oversized_image_tokens = 0;
    std::uint32_t oversized_image_batch_limit = 0;
};

// Images in conversations: the projector, and the batch sizes an image chunk
// must fit (decoded in one llama_decode, one micro-batch when non-causal).
struct MultimodalPreparation {
    const MultimodalProjector* projector = nullptr;
    std::uint32_t n_batch = 0;
    std::uint32_t n_ubatch = 0;
};

using Preparation = std::variant<PreparedRequest, PreparationFailure>;

class RequestPreparer {
  public:
    // A non-empty `chat_template_refusal` says why the template (the
    // override, or the model's own) must not be compiled at all: the chat
    // template probe saw it crash or run away. Conversations then fail with
    // ChatTemplateError and that reason.
    RequestPreparer(const llama_model* model, const std::string& chat_template_override,
                    std::uint32_t slot_context_size, const std::string& chat_template_refusal = "",
                    MultimodalPreparation multimodal = {});

    Preparation prepare(Request request) const;
    // The prompt a conversation request renders to, or why it does not.
    std::variant<std::string, PreparationFailure> render_prompt(const Request& request) const;

    // Why conversations cannot be rendered ("" when they can).
    const std::string& chat_template_error() const { return chat_template_error_; }
    // The template conversations are rendered with ("" when there is none).
    std::string chat_template_source() const;

  private:
    struct Rendered;
    std::variant<Rendered, PreparationFailure> render_conversation(const Request& request) const;
    std::optional<PreparationFailure> raw_grammar(const Request& request, common_params_sampling& sampling) const;
    std::optional<PreparationFailure> tokenize_with_images(const Request& request, const std::string& prompt,
                                                           bool add_special, PreparedRequest& prepared) const;

    const llama_model* model_;
    const llama_vocab* vocab_;
    std::uint32_t slot_context_size_;
    common_chat_templates_ptr templates_;
    std::string chat_template_error_;
    bool supports_thinking_ = false;
    std::vector<llama_logit_bias> end_of_generation_bias_;
    MultimodalPreparation multimodal_;
};

}  // namespace paddler
