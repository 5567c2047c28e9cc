// Plain data that crosses the engine's boundary: what a caller submits and
// what the engine emits. No llama.cpp types leak through here, so the Python
// bindings and the tests can use them without knowing llama.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace paddler {

using RequestId = std::uint64_t;

enum class KvCacheType : std::uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 };

// Auto is our policy, not llama.cpp's: on the CPU the flash-attention kernel
// is faster for prompts and shallow batches but slower for deep single
// streams, so Auto measures this model's attention at load and picks the
// faster (flash_attention_probe.hpp); a quantized V cache requires it; where
// layers are offloaded to a GPU the choice is llama.cpp's.
enum class FlashAttention : std::uint8_t { Auto, Enabled, Disabled };

enum class PoolingType : std::uint8_t { Unspecified, None, Mean, Cls, Last, Rank };

// Fixed for the life of an engine; changing any of these means a new engine.
struct EngineParams {
    // Tokens of context per slot (each slot is one conversation), as in
    // Paddler. The llama context holds slots * context_size cells.
    std::uint32_t context_size = 4096;
    std::uint32_t slots = 4;
    std::uint32_t n_batch = 2048;
    std::uint32_t n_ubatch = 512;
    std::int32_t n_gpu_layers = 0;
    std::int32_t threads = 0;  // 0: as many as llama.cpp thinks sensible
    std::int32_t threads_batch = 0;  // 0: same as threads
    // How long idle CPU threads spin for the next graph before they sleep,
    // on ggml's scale: 50 is its default (a machine to ourselves), 0 sleeps at
    // once (a machine shared with other busy processes, where spinning
    // threads starve each other).
    std::uint32_t thread_poll = 50;
    KvCacheType k_cache_type = KvCacheType::F16;
    KvCacheType v_cache_type = KvCacheType::F16;
    FlashAttention flash_attention = FlashAttention::Auto;
    bool use_mmap = true;
    // Replaces the model's own chat template when not empty. A template that
    // does not compile does not stop the engine: conversation requests then
    // end with ChatTemplateError, and chat_template_error() says why.
    std::string chat_template_override;
    // When not empty, why the chat template (the override, or the model's
    // own) must not be compiled at all (the chat template probe saw it crash
    // or run away): conversation requests end with ChatTemplateError and this.
    std::string chat_template_refusal;
    // A second llama context on the same weights serves embeddings, so they
    // never wait for (or stall) token generation.
    bool enable_embeddings = false;
    std::uint32_t embedding_batch_size = 512;  // tokens per embedding batch
    PoolingType pooling_type = PoolingType::Unspecified;
    // A vision model's multimodal projector (mmproj GGUF), loaded with the
    // model on the same backend; empty: the engine serves text only.
    std::string multimodal_projection_path;
    // Matrix products whose rounding does not depend on the batch (ggml's
    // kernels instead of llamafile's tinyBLAS, matrix_kernels.hpp): the same
    // greedy output whether a prompt came from the prefix cache or not, alone
    // or beside other slots. Slower for batches; off, as in llama-server.
    bool deterministic = false;
};

// Per-request sampling; unset fields fall back to the engine's defaults
// (held by the caller, filled before submission).
struct SamplingParams {
    float temperature = 0.8f;  // <= 0: greedy
    std::int32_t top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::int32_t penalty_last_n = 64;
    std::uint32_t seed = 0xFFFFFFFFu;  // LLAMA_DEFAULT_SEED: random
    std::int32_t max_tokens = 512;
    std::vector<std::string> stop;
    bool ignore_eos = false;
};

enum class GrammarKind : std::uint8_t { None, Gbnf, JsonSchema };

// Auto: the model may call a tool; Required: it must (its output is then
// constrained to a tool call); None: tools are described but not callable.
enum class ToolChoice : std::uint8_t { Auto, Required, None };

// One decoded image of a conversation: RGB, 3 bytes a pixel, row by row.
struct ImageInput {
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::string pixels;
    // Equal for equal pixels (a hash of them): a cached image is recognized
    // by it, so a conversation that sends the same image again reuses it.
    std::string id;
};

struct Request {
    RequestId id = 0;
    // A conversation (OpenAI-style JSON array of {role, content} messages)
    // rendered with the chat template; when set, the prompt fields are unused.
    std::string conversation_json;
    // OpenAI function tools (JSON array), offered to the template; their calls
    // are parsed from the output at the end.
    std::string tools_json;
    ToolChoice tool_choice = ToolChoice::Auto;
    bool add_generation_prompt = true;
    bool enable_thinking = true;
    GrammarKind grammar_kind = GrammarKind::None;
    std::string grammar;  // GBNF text, or a JSON schema as JSON text
    std::string grammar_root = "root";
    // Exactly one of prompt_text / prompt_tokens is used: text when
    // prompt_tokens is empty. Text is tokenized with special tokens parsed
    // (a raw prompt is usually a rendered chat template).
    std::string prompt_text;
    std::vector<std::int32_t> prompt_tokens;
    bool add_special = false;
    SamplingParams sampling;
    // The images of the conversation's image_url parts, in the order the
    // parts appear (message by message, part by part).
    std::vector<ImageInput> images;
};

enum class EventKind : std::uint8_t { Token, ToolCalls, Done, Error };

// What a piece of output is, as the chat format's parser sees it.
enum class TokenKind : std::uint8_t { Content, Reasoning, ToolCall, Undeterminable };

struct ToolCall {
    std::string id;
    std::string name;
    std::string arguments;  // JSON text
};

enum class FinishReason : std::uint8_t {
    None,         // not a Done event
    EndOfGeneration,  // the model emitted an end-of-generation token
    StopString,
    MaxTokens,
    Cancelled,
};

enum class ErrorKind : std::uint8_t {
    None,
    InvalidRequest,     // e.g. empty prompt, token id out of the vocabulary
    PromptTooLong,      // the prompt does not fit a slot's context
    ContextExhausted,   // generation filled the slot's context
    KvCacheFull,        // llama.cpp found no room for this sequence
    DecodeFailed,       // llama_decode failed for another reason
    ShuttingDown,       // the engine stopped before the request finished
    ChatTemplateError,  // the template does not compile or failed to render
    GrammarSyntaxError,
    GrammarIncompatibleWithThinking,
    GrammarRejectedModelOutput,  // sampling reached a state the grammar allows nothing from
    SamplerError,
    MultimodalNotSupported,
    ToolCallParseFailed,
    UnrecognizedToolCallFormat,  // message: the raw text of the tool-call tokens
    ImageDecodingFailed,    // an image the projector cannot take, or its encoder failed
    ImageExceedsBatchSize,  // an image's tokens do not fit one batch (Event::oversized_image_*)
};

struct Usage {
    std::int32_t prompt_tokens = 0;
    std::int32_t cached_prompt_tokens = 0;
    std::int32_t completion_tokens = 0;
    std::int32_t content_tokens = 0;
    std::int32_t reasoning_tokens = 0;
    std::int32_t tool_call_tokens = 0;
    std::int32_t undeterminable_tokens = 0;
    // Of prompt_tokens, those that images take.
    std::int32_t input_image_tokens = 0;
};

struct Event {
    RequestId request_id = 0;
    EventKind kind = EventKind::Token;
    std::int32_t token = -1;       // Token (-1: more text of the previous token)
    TokenKind token_kind = TokenKind::Content;  // Token
    std::string text;              // Token: the UTF-8 text it makes visible (may be empty)
    std::vector<ToolCall> tool_calls;  // ToolCalls
    FinishReason finish_reason = FinishReason::None;  // Done
    Usage usage;                   // Done and Error
    ErrorKind error_kind = ErrorKind::None;  // Error
    std::string message;           // Error
    // ImageExceedsBatchSize: the image's tokens and the most one batch takes.
    std::uint32_t oversized_image_tokens = 0;
    std::uint32_t oversized_image_batch_limit = 0;
};

enum class SlotState : std::uint8_t { Idle, Prefilling, Generating };

struct SlotStatus {
    std::uint32_t index = 0;
    SlotState state = SlotState::Idle;
    std::optional<RequestId> request_id;
    std::uint32_t cached_tokens = 0;  // tokens of this slot's KV cache
};

struct EmbeddingInput {
    std::string id;
    std::string content;
};

struct EmbeddingResult {
    std::string id;
    // One vector per document; with PoolingType::None, the vectors of all its
    // tokens one after another (dimension floats each).
    std::vector<float> embedding;
    std::uint32_t dimension = 0;
    // The document's tokens, as the embedding context saw them.
    std::uint32_t token_count = 0;
};

struct EngineStatus {
    std::uint32_t slots_total = 0;
    std::uint32_t slots_processing = 0;
    std::uint32_t requests_waiting = 0;  // submitted, not yet in a slot
    std::uint64_t steps = 0;             // decode steps run since the engine started
    // Images encoded while decoding paused for them, and beside decoding
    // (encode_policy.hpp says which and why).
    std::uint64_t images_encoded_alone = 0;
    std::uint64_t images_encoded_beside = 0;
    std::vector<SlotStatus> slots;
};

}  // namespace paddler
