#include "engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <filesystem>
#include <optional>
#include <utility>

#include "common.h"
#include "embedding_runner.hpp"
#include "flash_attention_probe.hpp"
#include "encode_policy.hpp"
#include "image_encoder.hpp"
#include "llama.h"
#include "llama_log.hpp"
#include "multimodal_projector.hpp"
#include "request_preparation.hpp"
#include "sampling.h"
#include "slot_table.hpp"
#include "text_stream.hpp"
#include "thread_name.hpp"

namespace paddler {

namespace {

ggml_type to_ggml(KvCacheType type) {
    switch (type) {
        case KvCacheType::F32: return GGML_TYPE_F32;
        case KvCacheType::F16: return GGML_TYPE_F16;
        case KvCacheType::BF16: return GGML_TYPE_BF16;
        case KvCacheType::Q8_0: return GGML_TYPE_Q8_0;
        case KvCacheType::Q4_0: return GGML_TYPE_Q4_0;
        case KvCacheType::Q4_1: return GGML_TYPE_Q4_1;
        case KvCacheType::Q5_0: return GGML_TYPE_Q5_0;
        case KvCacheType::Q5_1: return GGML_TYPE_Q5_1;
    }
    return GGML_TYPE_F16;
}

struct FlashAttentionChoice {
    llama_flash_attn_type type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    std::string summary;  // in words, for the agent's log
};

// The setting asked for, or for Auto: llama.cpp's own choice where layers are
// offloaded to a GPU; on the CPU, on where a quantized V cache requires it or
// several slots decode together, and for one slot what a short measurement of
// this model's attention says (see flash_attention_probe.hpp for why it is
// measured).
//
// Why several slots skip the measurement: there it disagreed with whole-model
// runs. On a Zen 4 VM (2 threads, SmolLM2, 4 slots of 2048 cells) it rated
// flash attention 27% slower, while the engine itself, A/B in one process,
// ran 7% (4 short streams), 18% (16) and 13% (4 streams decoding at a depth of
// 1500) faster with it on; llama.cpp's batched bench had agreed on another CPU.
// For one deep stream the measurement and llama-bench agree that it loses
// (here, at a depth of 3000: 58 against 44 tok/s decoding, 141 against 103
// prefilling), so one slot keeps the measurement.
FlashAttentionChoice choose_flash_attention(const EngineParams& params, const llama_model* model,
                                            std::int32_t threads) {
    switch (params.flash_attention) {
        case FlashAttention::Enabled: return {LLAMA_FLASH_ATTN_TYPE_ENABLED, "flash attention on, as configured"};
        case FlashAttention::Disabled: return {LLAMA_FLASH_ATTN_TYPE_DISABLED, "flash attention off, as configured"};
        case FlashAttention::Auto: break;
    }
    if (params.n_gpu_layers != 0 && llama_supports_gpu_offload()) {
        return {LLAMA_FLASH_ATTN_TYPE_AUTO, "flash attention left to llama.cpp (layers offloaded)"};
    }
    const bool quantized_v = params.v_cache_type != KvCacheType::F32 && params.v_cache_type != KvCacheType::F16 &&
                             params.v_cache_type != KvCacheType::BF16;
    if (quantized_v) {
        return {LLAMA_FLASH_ATTN_TYPE_ENABLED, "flash attention on: a quantized V cache requires it"};
    }
    if (params.slots > 1) {
        return {LLAMA_FLASH_ATTN_TYPE_ENABLED,
                "flash attention on on the CPU: " + std::to_string(params.slots) +
                    " slots decode together, where it measured faster in whole-model runs"};
    }
    const FlashAttentionProbe probe =
        probe_flash_attention(model, params.slots, params.context_size, params.n_ubatch, threads, params.deterministic);
    return {probe.enable ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED, probe.summary};
}

void validate(const EngineParams& params) {
    if (params.slots == 0) {
        throw std::invalid_argument("slots must be at least 1");
    }
    if (params.context_size < 8) {
        throw std::invalid_argument("context_size must be at least 8 tokens");
    }
    if (params.n_batch == 0 || params.n_ubatch == 0) {
        throw std::invalid_argument("n_batch and n_ubatch must be at least 1");
    }
    if (params.threads < 0 || params.threads_batch < 0) {
        throw std::invalid_argument("threads must be 0 (automatic) or positive");
    }
    if (params.enable_embeddings && params.embedding_batch_size == 0) {
        throw std::invalid_argument("embedding_batch_size must be at least 1");
    }
}

void batch_clear(llama_batch& batch) { batch.n_tokens = 0; }

void batch_add(llama_batch& batch, llama_token token, llama_pos pos, llama_seq_id seq, bool logits) {
    const std::int32_t i = batch.n_tokens++;
    batch.token[i] = token;
    batch.pos[i] = pos;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = seq;
    batch.logits[i] = logits ? 1 : 0;
}

std::map<std::string, std::string> read_metadata(const llama_model* model) {
    std::map<std::string, std::string> metadata;
    const std::int32_t count = llama_model_meta_count(model);
    std::vector<char> key(512);
    std::vector<char> value(4096);
    for (std::int32_t i = 0; i < count; ++i) {
        std::int32_t key_len = llama_model_meta_key_by_index(model, i, key.data(), key.size());
        if (key_len < 0) continue;
        if (static_cast<std::size_t>(key_len) >= key.size()) {
            key.resize(static_cast<std::size_t>(key_len) + 1);
            key_len = llama_model_meta_key_by_index(model, i, key.data(), key.size());
        }
        std::int32_t value_len = llama_model_meta_val_str_by_index(model, i, value.data(), value.size());
        if (value_len < 0) continue;
        if (static_cast<std::size_t>(value_len) >= value.size()) {
            value.resize(static_cast<std::size_t>(value_len) + 1);
            value_len = llama_model_meta_val_str_by_index(model, i, value.data(), value.size());
        }
        metadata.emplace(sanitize_utf8(std::string_view(key.data(), static_cast<std::size_t>(key_len))),
                         sanitize_utf8(std::string_view(value.data(), static_cast<std::size_t>(value_len))));
    }
    return metadata;
}

}  // namespace

// ---------------------------------------------------------------------------

struct Engine::Command {
    enum class Kind { Submit, Cancel } kind;
    RequestId id = 0;
    std::optional<PreparedRequest> request;  // Submit
};

Engine::Engine(const std::string& model_path, const EngineParams& params) : params_(params) {
    validate(params_);
    init_llama_once();

    std::error_code ec;
    if (!std::filesystem::is_regular_file(model_path, ec)) {
        throw ModelLoadError("model file not found: " + model_path);
    }

    LogCapture capture;
    llama_model_params model_params = llama_model_default_params();
    model_params.n_gpu_layers = params_.n_gpu_layers;
    model_params.load_mode = params_.use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    model_ = llama_model_load_from_file(model_path.c_str(), model_params);
    if (model_ == nullptr) {
        throw ModelLoadError("cannot load model " + model_path + ": " + capture.text("llama.cpp gave no reason"));
    }
    // Everything below owns the model; free it if any of it throws.
    struct ModelGuard {
        Engine* engine;
        bool armed = true;
        ~ModelGuard() {
            if (!armed) return;
            engine->projector_.reset();
            if (engine->context_ != nullptr) llama_free(engine->context_);
            llama_model_free(engine->model_);
            engine->context_ = nullptr;
            engine->model_ = nullptr;
        }
    } guard{this};

    const auto threads = params_.threads > 0 ? params_.threads : static_cast<std::int32_t>(common_cpu_get_num_math());
    llama_context_params ctx_params = llama_context_default_params();
    ctx_params.n_ctx = params_.context_size * params_.slots;
    ctx_params.n_batch = std::min(params_.n_batch, ctx_params.n_ctx);
    ctx_params.n_ubatch = std::min(params_.n_ubatch, ctx_params.n_batch);
    ctx_params.n_seq_max = params_.slots;
    ctx_params.n_threads = threads;
    ctx_params.n_threads_batch = params_.threads_batch > 0 ? params_.threads_batch : threads;
    const FlashAttentionChoice flash = choose_flash_attention(params_, model_, ctx_params.n_threads_batch);
    flash_attention_summary_ = flash.summary;
    ctx_params.flash_attn_type = flash.type;
    ctx_params.type_k = to_ggml(params_.k_cache_type);
    ctx_params.type_v = to_ggml(params_.v_cache_type);
    // One KV stream per slot: each conversation gets context_size cells of
    // its own, and attention never scans other slots' cells.
    ctx_params.kv_unified = false;
    ctx_params.no_perf = true;
    threadpools_ = std::make_unique<CpuThreadpools>(ctx_params.n_threads, ctx_params.n_threads_batch, params_.thread_poll,
                                                    params_.deterministic);
    context_ = llama_init_from_model(model_, ctx_params);
    if (context_ == nullptr) {
        throw ModelLoadError("cannot create a context for " + model_path + ": " +
                             capture.text("llama.cpp gave no reason"));
    }
    threadpools_->attach(context_);
    params_.n_batch = llama_n_batch(context_);
    slot_context_size_ = std::min(params_.context_size, llama_n_ctx_seq(context_));

    metadata_ = read_metadata(model_);
    if (const char* tmpl = llama_model_chat_template(model_, nullptr)) {
        chat_template_ = tmpl;
    }
    MultimodalPreparation multimodal;
    if (!params_.multimodal_projection_path.empty()) {
        const std::string& path = params_.multimodal_projection_path;
        if (!std::filesystem::is_regular_file(path, ec)) {
            throw ModelLoadError("multimodal projection file not found: " + path);
        }
        try {
            // On the model's backend: the GPU when the model's layers are offloaded.
            const bool use_gpu = params_.n_gpu_layers != 0 && llama_supports_gpu_offload();
            // As many threads as a prompt batch: most encodes run while
            // decoding pauses for them (encode_policy.hpp says when).
            projector_ = std::make_unique<MultimodalProjector>(path, model_, use_gpu, ctx_params.n_threads_batch);
        } catch (const std::runtime_error& error) {
            throw ModelLoadError(error.what());
        }
        if (projector_->uses_mrope()) {
            // Their image tokens take fewer positions than cache cells; the
            // slots here keep one position per cell.
            throw ModelLoadError("the multimodal projection " + path +
                                 " places images with M-RoPE positions (Qwen2-VL and its kin), not served yet");
        }
        for (const auto& [key, value] : projector_->metadata()) metadata_.emplace(key, value);
        multimodal.projector = projector_.get();
        multimodal.n_batch = params_.n_batch;
        multimodal.n_ubatch = llama_n_ubatch(context_);
    }
    preparer_ = std::make_unique<RequestPreparer>(model_, params_.chat_template_override, slot_context_size_,
                                                  params_.chat_template_refusal, multimodal);
    if (params_.enable_embeddings) {
        try {
            embeddings_ = std::make_unique<EmbeddingRunner>(model_, params_);
        } catch (const EmbeddingError& error) {
            throw ModelLoadError(error.what());
        }
    }

    status_.slots_total = params_.slots;
    for (std::uint32_t i = 0; i < params_.slots; ++i) {
        status_.slots.push_back(SlotStatus{i, SlotState::Idle, std::nullopt, 0});
    }
    if (projector_) {
        encoder_ = std::make_unique<ImageEncoder>(*projector_, [this] { push_command_wake(); });
    }
    thread_ = std::thread([this] { run(); });
    guard.armed = false;
}

Engine::~Engine() {
    shutdown();
    embeddings_.reset();
    preparer_.reset();
    projector_.reset();
    if (context_ != nullptr) llama_free(context_);
    if (model_ != nullptr) llama_model_free(model_);
}

std::int32_t Engine::vocab_size() const { return llama_vocab_n_tokens(llama_model_get_vocab(model_)); }
std::int32_t Engine::embedding_size() const { return llama_model_n_embd(model_); }
const std::string& Engine::chat_template_error() const { return preparer_->chat_template_error(); }

std::string Engine::render_conversation(const Request& request) const {
    auto rendered = preparer_->render_prompt(request);
    if (auto* failed = std::get_if<PreparationFailure>(&rendered)) {
        throw ChatTemplateError(failed->message);
    }
    return std::move(std::get<std::string>(rendered));
}

PoolingType Engine::pooling_type() const {
    return embeddings_ ? embeddings_->pooling_type() : PoolingType::Unspecified;
}

std::vector<std::int32_t> Engine::tokenize(const std::string& text, bool add_special, bool parse_special) const {
    return common_tokenize(llama_model_get_vocab(model_), text, add_special, parse_special);
}

std::string Engine::detokenize(const std::vector<std::int32_t>& tokens) const {
    std::string out;
    const llama_vocab* vocab = llama_model_get_vocab(model_);
    for (const auto token : tokens) {
        out += common_token_to_piece(vocab, token, false);
    }
    return sanitize_utf8(out);
}

std::vector<EmbeddingResult> Engine::embed(const std::vector<EmbeddingInput>& inputs,
                                           const Normalization& normalization) {
    if (!embeddings_) {
        throw std::invalid_argument("embeddings are not enabled for this engine");
    }
    return embeddings_->embed(inputs, normalization);
}

std::vector<std::uint32_t> Engine::embedding_token_counts(const std::vector<EmbeddingInput>& inputs) const {
    if (!embeddings_) {
        throw std::invalid_argument("embeddings are not enabled for this engine");
    }
    return embeddings_->token_counts(inputs);
}

std::uint32_t Engine::embedding_sequences_per_batch() const {
    return embeddings_ ? embeddings_->max_sequences() : 0;
}

void Engine::push_command_wake() {
    command_wake_.fetch_add(1, std::memory_order_release);
    command_wake_.notify_one();
}

void Engine::submit(Request request) {
    // Counted in from before the stopping_ check until after the push.
    submits_in_flight_.fetch_add(1);
    struct InFlight {
        std::atomic<std::uint32_t>& count;
        ~InFlight() {
            count.fetch_sub(1);
            count.notify_all();
        }
    } const in_flight{submits_in_flight_};
    const RequestId id = request.id;
    const auto fail = [&](PreparationFailure failure) {
        Event event;
        event.request_id = id;
        event.kind = EventKind::Error;
        event.error_kind = failure.kind;
        event.message = std::move(failure.message);
        event.usage.prompt_tokens = failure.prompt_tokens;
        event.oversized_image_tokens = failure.oversized_image_tokens;
        event.oversized_image_batch_limit = failure.oversized_image_batch_limit;
        events_.push(std::move(event));
        events_signal_.notify();
    };
    if (stopping_.load()) {
        fail(PreparationFailure{ErrorKind::ShuttingDown, "the engine is shutting down"});
        return;
    }
    Preparation preparation = preparer_->prepare(std::move(request));
    if (auto* failed = std::get_if<PreparationFailure>(&preparation)) {
        fail(std::move(*failed));
        return;
    }
    auto command = std::make_unique<Command>();
    command->kind = Command::Kind::Submit;
    command->id = id;
    command->request.emplace(std::move(std::get<PreparedRequest>(preparation)));
    commands_.push(std::move(command));
    push_command_wake();
}

void Engine::cancel(RequestId id) {
    auto command = std::make_unique<Command>();
    command->kind = Command::Kind::Cancel;
    command->id = id;
    commands_.push(std::move(command));
    push_command_wake();
}

std::vector<Event> Engine::drain_events(std::size_t max_events) {
    events_signal_.clear();
    std::vector<Event> out;
    out.reserve(std::min<std::size_t>(max_events, 256));
    while (out.size() < max_events) {
        auto event = events_.pop();
        if (!event) break;
        out.push_back(std::move(*event));
    }
    return out;
}

EngineStatus Engine::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

void Engine::shutdown() {
    std::lock_guard lock(shutdown_mutex_);
    stopping_.store(true);
    push_command_wake();
    if (thread_.joinable()) {
        thread_.join();
    }
    // After the engine thread: it hands the encoder its jobs. An encode in
    // progress finishes first (one image graph cannot be interrupted).
    encoder_.reset();
}

// ---------------------------------------------------------------------------
// The engine thread.

namespace {

struct ActiveRequest {
    PreparedRequest request;
    std::uint32_t slot = 0;
    SlotState state = SlotState::Prefilling;
    std::size_t prefilled = 0;  // prompt tokens in the slot's cache so far
    std::int32_t cached_prompt_tokens = 0;
    std::optional<TextStream> text;
    Usage usage;
    llama_token next_token = -1;     // sampled, not yet decoded
    std::int32_t logits_index = -1;  // row of this step's batch to sample from
    std::size_t batch_tokens = 0;    // tokens this request put in this step's batch
    std::size_t next_image = 0;      // the first of request.images not in the slot's cache yet
    // By image: its embeddings once the encoder has them, until decoded.
    std::vector<std::optional<std::vector<float>>> encoded;
};

}  // namespace

class EngineLoop {
  public:
    explicit EngineLoop(Engine& engine)
        : engine_(engine),
          ctx_(engine.context_),
          vocab_(llama_model_get_vocab(engine.model_)),
          memory_(llama_get_memory(engine.context_)),
          slots_(engine.params_.slots),
          active_(engine.params_.slots),
          batch_(llama_batch_init(static_cast<std::int32_t>(engine.params_.n_batch), 0, 1)) {
        const std::int32_t n_vocab = llama_vocab_n_tokens(vocab_);
        is_eog_.assign(static_cast<std::size_t>(n_vocab), false);
        for (llama_token token = 0; token < n_vocab; ++token) {
            is_eog_[static_cast<std::size_t>(token)] = llama_vocab_is_eog(vocab_, token);
        }
    }

    ~EngineLoop() { llama_batch_free(batch_); }

    void run() {
        while (true) {
            const std::uint64_t seen = engine_.command_wake_.load(std::memory_order_acquire);
            take_commands();
            if (engine_.stopping_.load()) {
                end_everything();
                publish();
                return;
            }
            take_encoded_images();
            admit();
            if (active_count() == 0) {
                publish();
                engine_.command_wake_.wait(seen, std::memory_order_acquire);
                continue;
            }
            bool idle = false;
            try {
                build_batch(true);
                const std::int32_t step_tokens = batch_.n_tokens + image_tokens_this_step();
                if (schedule_encode(step_tokens > 0)) {
                    // Decoding pauses while the encoder has the cores.
                    publish();
                    engine_.command_wake_.wait(seen, std::memory_order_acquire);
                    continue;
                }
                // Every busy slot waits for its next image's encoding.
                idle = step_tokens == 0;
                if (!idle) {
                    steps_ += 1;
                    const auto began = std::chrono::steady_clock::now();
                    decode_image();
                    if (decode_batch()) {
                        sample_and_emit();
                    }
                    policy_.stepped(step_tokens,
                                    std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
                }
            } catch (const std::exception& error) {
                // Last resort: whatever escaped ends the requests of this
                // step, never the process; the next step starts clean.
                fail_all_active(std::string("the engine step failed: ") + error.what());
            }
            publish();
            if (idle) {
                // The encoder's wake-up (or a command) starts the next step.
                engine_.command_wake_.wait(seen, std::memory_order_acquire);
            }
        }
    }

  private:
    // --- 1. commands ---------------------------------------------------------
    void take_commands() {
        while (auto command = engine_.commands_.pop()) {
            auto& cmd = **command;
            if (cmd.kind == Engine::Command::Kind::Submit) {
                waiting_.push_back(std::move(*cmd.request));
                continue;
            }
            cancel(cmd.id);
        }
    }

    void cancel(RequestId id) {
        for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
            if (it->id == id) {
                Usage usage;
                usage.prompt_tokens = static_cast<std::int32_t>(it->prompt_tokens.size());
                emit_done(id, FinishReason::Cancelled, usage);
                waiting_.erase(it);
                return;
            }
        }
        for (auto& active : active_) {
            if (active && active->request.id == id) {
                finish(*active, FinishReason::Cancelled);
                return;
            }
        }
        // Unknown id: it finished already; its final event is on its way.
    }

    // Embeddings the encoder finished since the last step; those of requests
    // that ended meanwhile are dropped.
    void take_encoded_images() {
        if (!engine_.encoder_) return;
        for (auto& done : engine_.encoder_->take_finished()) {
            if (done.error.empty()) policy_.encoded(done.tokens, done.seconds);
            ActiveRequest* owner = owner_of(done.request_id);
            if (owner == nullptr) continue;
            const auto& image = owner->request.images[done.image];
            const std::size_t expected =
                static_cast<std::size_t>(image.n_tokens) * static_cast<std::size_t>(engine_.projector_->embedding_size());
            if (!done.error.empty() || done.embeddings.size() != expected) {
                fail(*owner, ErrorKind::ImageDecodingFailed,
                     done.error.empty() ? "the vision encoder gave embeddings of the wrong size" : done.error);
                continue;
            }
            owner->encoded[done.image] = std::move(done.embeddings);
        }
    }

    ActiveRequest* owner_of(RequestId id) {
        for (auto& active : active_) {
            if (active && active->request.id == id) return &*active;
        }
        return nullptr;
    }

    // Starts the next queued encode when the policy says so. Returns whether
    // an encode runs alone now: then no decode step runs until it is done
    // (unless its request ended meanwhile).
    bool schedule_encode(bool step_has_work) {
        ImageEncoder* encoder = engine_.encoder_.get();
        if (encoder == nullptr) return false;
        if (const auto running = encoder->running()) {
            return encoding_alone_ && owner_of(*running) != nullptr;
        }
        const EncodeJob* next = encoder->next();
        if (next == nullptr) return false;
        switch (policy_.decide(next->tokens, step_has_work)) {
            case EncodeDecision::Wait:
                return false;
            case EncodeDecision::StartAlone:
                policy_.started_alone();
                encoding_alone_ = true;
                images_encoded_alone_ += 1;
                // The decode threads would poll for their next graph for
                // a while, on the cores the encode needs.
                engine_.threadpools_->pause();
                encoder->start_next(true);
                return true;
            case EncodeDecision::StartBeside:
                encoding_alone_ = false;
                images_encoded_beside_ += 1;
                encoder->start_next(false);
                return false;
        }
        return false;
    }

    // --- 2. admit ------------------------------------------------------------
    void admit() {
        while (!waiting_.empty()) {
            const auto choice = slots_.choose_free_slot(waiting_.front().prompt_tokens);
            if (!choice) return;
            PreparedRequest request = std::move(waiting_.front());
            waiting_.pop_front();
            start(std::move(request), *choice);
        }
    }

    void start(PreparedRequest request, SlotChoice choice) {
        const auto seq = static_cast<llama_seq_id>(choice.slot);
        std::uint32_t reused = choice.reused_tokens;
        // An image chunk is decoded whole: a prefix that ends inside one
        // (the same image, cut by the one-token-left rule or a differing
        // image that happens to share its first placeholders) ends before it.
        for (const auto& image : request.images) {
            if (image.start < reused && reused < image.start + image.n_tokens) {
                reused = static_cast<std::uint32_t>(image.start);
                break;
            }
        }
        // Drop what the new prompt does not share. Some memories (recurrent
        // state) cannot cut a sequence in the middle; then start clean.
        if (!llama_memory_seq_rm(memory_, seq, static_cast<llama_pos>(reused), -1)) {
            llama_memory_seq_rm(memory_, seq, -1, -1);
            reused = 0;
        }
        slots_.cached(choice.slot).resize(reused);
        slots_.claim(choice.slot);

        auto& active = active_[choice.slot].emplace();
        active.slot = choice.slot;
        active.state = SlotState::Prefilling;
        active.prefilled = reused;
        active.cached_prompt_tokens = static_cast<std::int32_t>(reused);
        active.text.emplace(request.stop);
        active.usage.prompt_tokens = static_cast<std::int32_t>(request.prompt_tokens.size());
        active.usage.cached_prompt_tokens = static_cast<std::int32_t>(reused);
        active.usage.input_image_tokens = request.image_tokens;
        active.request = std::move(request);
        admission_order_.push_back(choice.slot);
        // Images already in the cache are reused; the rest go to the encoder now.
        const auto& images = active.request.images;
        active.encoded.resize(images.size());
        while (active.next_image < images.size() && images[active.next_image].start < reused) {
            active.next_image += 1;
        }
        for (std::size_t i = active.next_image; i < images.size(); ++i) {
            engine_.encoder_->submit(
                EncodeJob{active.request.id, i, static_cast<std::int32_t>(images[i].n_tokens), images[i].chunk});
        }
        if (active.request.max_tokens == 0) {
            finish(active, FinishReason::MaxTokens);
        }
    }

    // --- 3. batch --------------------------------------------------------------
    // `with_image`: whether an image may go in (not when the step's image
    // was decoded already and the batch is built again).
    void build_batch(bool with_image) {
        batch_clear(batch_);
        for (auto& active : active_) {
            if (!active) continue;
            active->logits_index = -1;
            active->batch_tokens = 0;
        }
        // Generating slots first: one token each keeps every stream moving.
        for (auto& active : active_) {
            if (!active || active->state != SlotState::Generating) continue;
            auto& cached = slots_.cached(active->slot);
            if (cached.size() >= engine_.slot_context_size_) {
                fail(*active, ErrorKind::ContextExhausted,
                     "the slot's context of " + std::to_string(engine_.slot_context_size_) +
                         " tokens is full after " + std::to_string(active->usage.completion_tokens) +
                         " generated tokens");
                continue;
            }
            active->logits_index = batch_.n_tokens;
            active->batch_tokens = 1;
            batch_add(batch_, active->next_token, static_cast<llama_pos>(cached.size()),
                      static_cast<llama_seq_id>(active->slot), true);
        }
        // One image, if one is ready: its tokens count against this step's
        // batch, so a step never does much more than n_batch tokens of work.
        image_slot_.reset();
        auto capacity = static_cast<std::int32_t>(engine_.params_.n_batch);
        for (const auto slot : admission_order_) {
            if (!with_image) break;
            auto& active = active_[slot];
            if (!active || active->state != SlotState::Prefilling) continue;
            const auto& images = active->request.images;
            if (active->next_image >= images.size()) continue;
            const auto& image = images[active->next_image];
            if (active->prefilled == image.start && active->encoded[active->next_image]) {
                image_slot_ = slot;
                capacity -= static_cast<std::int32_t>(image.n_tokens);
                break;
            }
        }
        // Then prompt chunks, oldest admission first, while room is left.
        for (const auto slot : admission_order_) {
            auto& active = active_[slot];
            if (!active || active->state != SlotState::Prefilling) continue;
            const std::int32_t room = capacity - batch_.n_tokens;
            if (room <= 0) break;
            const auto& prompt = active->request.prompt_tokens;
            const auto& images = active->request.images;
            // Text up to the next image; the image goes in by itself. The
            // slot whose image goes in this step (decoded before the token
            // batch) continues with the text after it.
            std::size_t from = active->prefilled;
            std::size_t next_image = active->next_image;
            if (image_slot_ == slot) {
                from = images[next_image].start + images[next_image].n_tokens;
                next_image += 1;
            }
            const std::size_t end = next_image < images.size() ? images[next_image].start : prompt.size();
            const std::size_t remaining = end - from;
            if (remaining == 0) continue;
            const std::size_t take = std::min<std::size_t>(remaining, static_cast<std::size_t>(room));
            for (std::size_t i = 0; i < take; ++i) {
                const std::size_t position = from + i;
                const bool last = position + 1 == prompt.size();
                if (last) active->logits_index = batch_.n_tokens;
                batch_add(batch_, prompt[position], static_cast<llama_pos>(position), static_cast<llama_seq_id>(slot),
                          last);
            }
            active->batch_tokens = take;
        }
    }

    std::int32_t image_tokens_this_step() const {
        if (!image_slot_) return 0;
        const auto& active = *active_[*image_slot_];
        return static_cast<std::int32_t>(active.request.images[active.next_image].n_tokens);
    }

    // --- 4. decode ---------------------------------------------------------------
    // The image chosen by build_batch, in a llama_decode of its own (a batch
    // holds either tokens or embeddings). Before the token batch: the logits
    // sampled this step are that batch's. Returns whether an image went in.
    bool decode_image() {
        if (!image_slot_) return false;
        const std::uint32_t slot = *image_slot_;
        image_slot_.reset();
        // The request failed: the text after its image leaves the batch.
        struct RebuildOnFailure {
            EngineLoop& loop;
            std::uint32_t slot;
            ~RebuildOnFailure() {
                if (!loop.active_[slot]) loop.build_batch(false);
            }
        } rebuild{*this, slot};
        auto& active = *active_[slot];
        const auto& image = active.request.images[active.next_image];
        std::vector<float>& embeddings = *active.encoded[active.next_image];
        const auto n_tokens = static_cast<std::int32_t>(image.n_tokens);
        auto& cached = slots_.cached(slot);
        std::vector<llama_pos> positions(static_cast<std::size_t>(n_tokens));
        std::vector<std::int32_t> n_seq_ids(static_cast<std::size_t>(n_tokens), 1);
        llama_seq_id seq = static_cast<llama_seq_id>(slot);
        std::vector<llama_seq_id*> seq_ids(static_cast<std::size_t>(n_tokens), &seq);
        std::vector<std::int8_t> logits(static_cast<std::size_t>(n_tokens), 0);
        for (std::int32_t i = 0; i < n_tokens; ++i) {
            positions[static_cast<std::size_t>(i)] = static_cast<llama_pos>(cached.size()) + i;
        }
        llama_batch batch{};
        batch.n_tokens = n_tokens;
        batch.embd = embeddings.data();
        batch.pos = positions.data();
        batch.n_seq_id = n_seq_ids.data();
        batch.seq_id = seq_ids.data();
        batch.logits = logits.data();
        // Non-causal image chunks (Gemma 3) see all of themselves; the
        // context goes back to causal attention for the tokens.
        if (image.non_causal) llama_set_causal_attn(ctx_, false);
        const std::int32_t result = llama_decode(ctx_, batch);
        if (image.non_causal) llama_set_causal_attn(ctx_, true);
        if (result == 0) {
            const auto& prompt = active.request.prompt_tokens;
            const auto first = prompt.begin() + static_cast<std::ptrdiff_t>(image.start);
            cached.insert(cached.end(), first, first + n_tokens);
            active.prefilled += image.n_tokens;
            active.encoded[active.next_image].reset();
            active.next_image += 1;
            return true;
        }
        if (result == 1) {
            fail(active, ErrorKind::KvCacheFull,
                 "the KV cache has no room for this request's image (context " +
                     std::to_string(engine_.slot_context_size_) + " tokens per slot)");
        } else {
            fail(active, ErrorKind::DecodeFailed, "llama_decode of an image failed with code " + std::to_string(result));
            llama_memory_seq_rm(memory_, seq, -1, -1);
            slots_.cached(slot).clear();
        }
        return true;
    }

    // Returns false when nothing is left to sample this step.
    bool decode_batch() {
        while (batch_.n_tokens > 0) {
            const std::int32_t result = llama_decode(ctx_, batch_);
            if (result == 0) {
                commit_batch();
                return true;
            }
            if (result == 1) {
                // No room in the KV cache. The memory is as it was before the
                // call: give up the newest request and try the rest again.
                ActiveRequest* victim = newest_in_batch();
                if (victim == nullptr) return false;
                fail(*victim, ErrorKind::KvCacheFull,
                     "the KV cache has no room for this request (context " +
                         std::to_string(engine_.slot_context_size_) + " tokens per slot)");
                build_batch(false);
                continue;
            }
            // Aborted or fatal: part of the batch may be in the cache, so
            // every sequence in it is cleared and its request ends.
            const std::string message = "llama_decode failed with code " + std::to_string(result);
            for (auto& active : active_) {
                if (active && active->batch_tokens > 0) {
                    const auto slot = active->slot;
                    fail(*active, ErrorKind::DecodeFailed, message);
                    llama_memory_seq_rm(memory_, static_cast<llama_seq_id>(slot), -1, -1);
                    slots_.cached(slot).clear();
                }
            }
            return false;
        }
        return false;
    }

    void commit_batch() {
        for (auto& active : active_) {
            if (!active || active->batch_tokens == 0) continue;
            auto& cached = slots_.cached(active->slot);
            if (active->state == SlotState::Generating) {
                cached.push_back(active->next_token);
                continue;
            }
            const auto& prompt = active->request.prompt_tokens;
            cached.insert(cached.end(), prompt.begin() + static_cast<std::ptrdiff_t>(active->prefilled),
                          prompt.begin() + static_cast<std::ptrdiff_t>(active->prefilled + active->batch_tokens));
            active->prefilled += active->batch_tokens;
        }
    }

    ActiveRequest* newest_in_batch() {
        for (auto it = admission_order_.rbegin(); it != admission_order_.rend(); ++it) {
            auto& active = active_[*it];
            if (active && active->batch_tokens > 0) return &*active;
        }
        return nullptr;
    }

    // --- 5. sample, 6. emit, 7. retire ---------------------------------------------
    void sample_and_emit() {
        for (auto& active : active_) {
            if (!active || active->logits_index < 0) continue;
            llama_token token = -1;
            try {
                token = sample(*active);
            } catch (const std::exception& error) {
                // llama.cpp's grammar throws when the sampled token leaves it
                // no way forward; the request ends, the engine goes on.
                fail(*active, active->request.has_grammar ? ErrorKind::GrammarRejectedModelOutput : ErrorKind::SamplerError,
                     error.what());
                continue;
            }
            active->state = SlotState::Generating;
            try {
                emit_sampled(*active, token);
            } catch (const std::exception& error) {
                // Nothing a request does may take the engine thread down.
                if (active) fail(*active, ErrorKind::SamplerError, std::string("processing the output failed: ") + error.what());
            }
        }
    }

    void emit_sampled(ActiveRequest& active, llama_token token) {
        if (is_eog_[static_cast<std::size_t>(token)]) {
            end_generation(active, FinishReason::EndOfGeneration);
            return;
        }
        active.usage.completion_tokens += 1;
        active.next_token = token;
        const bool render_special = active.request.preserved_tokens.count(token) != 0;
        TextRelease release = active.text->push(common_token_to_piece(vocab_, token, render_special));
        emit_text(active, token, std::move(release.text));
        if (release.stop_matched) {
            end_generation(active, FinishReason::StopString);
        } else if (active.usage.completion_tokens >= active.request.max_tokens) {
            end_generation(active, FinishReason::MaxTokens);
        }
    }

    llama_token sample(ActiveRequest& active) {
        if (active.request.plain_argmax) {
            return argmax(active.logits_index, active.request.skip_end_of_generation);
        }
        const llama_token token = common_sampler_sample(active.request.sampler.get(), ctx_, active.logits_index);
        common_sampler_accept(active.request.sampler.get(), token, true);
        return token;
    }

    llama_token argmax(std::int32_t logits_index, bool skip_end_of_generation) const {
        const float* logits = llama_get_logits_ith(ctx_, logits_index);
        const std::int32_t n_vocab = llama_vocab_n_tokens(vocab_);
        llama_token best = -1;
        float best_logit = -INFINITY;
        for (llama_token token = 0; token < n_vocab; ++token) {
            // Strictly greater: ties go to the lowest id, as in llama.cpp's greedy sampler.
            if (logits[token] > best_logit && !(skip_end_of_generation && is_eog_[static_cast<std::size_t>(token)])) {
                best = token;
                best_logit = logits[token];
            }
        }
        return best < 0 ? 0 : best;
    }

    // Emits the text one token released, classified; token < 0 means text
    // released at the end, counted with no token.
    void emit_text(ActiveRequest& active, llama_token token, std::string text) {
        if (!active.request.classifier) {
            if (token >= 0) active.usage.content_tokens += 1;
            if (token >= 0 || !text.empty()) emit_piece(active, token, TokenKind::Content, std::move(text));
            return;
        }
        const bool held = text.empty();
        ClassifiedToken classified = active.request.classifier->push(text);
        if (token >= 0) {
            // Text held back (a possible stop string, half a character) is
            // counted like the text before it.
            count(active.usage, held ? last_kind(active) : classified.kind);
        }
        active.usage.undeterminable_tokens -= classified.reclassified_as_tool_call;
        active.usage.tool_call_tokens += classified.reclassified_as_tool_call;
        if (classified.pieces.empty()) {
            if (token >= 0) emit_piece(active, token, classified.kind, "");
            return;
        }
        for (auto& piece : classified.pieces) {
            emit_piece(active, token, piece.kind, std::move(piece.text));
            token = -1;  // further pieces of the same token
        }
    }

    static TokenKind last_kind(const ActiveRequest& active) {
        if (active.usage.tool_call_tokens > 0) return TokenKind::ToolCall;
        if (active.usage.content_tokens > 0) return TokenKind::Content;
        if (active.usage.reasoning_tokens > 0) return TokenKind::Reasoning;
        return TokenKind::Undeterminable;
    }

    static void count(Usage& usage, TokenKind kind) {
        switch (kind) {
            case TokenKind::Content: usage.content_tokens += 1; break;
            case TokenKind::Reasoning: usage.reasoning_tokens += 1; break;
            case TokenKind::ToolCall: usage.tool_call_tokens += 1; break;
            case TokenKind::Undeterminable: usage.undeterminable_tokens += 1; break;
        }
    }

    void emit_piece(const ActiveRequest& active, llama_token token, TokenKind kind, std::string text) {
        Event event;
        event.request_id = active.request.id;
        event.kind = EventKind::Token;
        event.token = token;
        event.token_kind = kind;
        event.text = std::move(text);
        pending_events_.push_back(std::move(event));
    }

    // The model stopped (end of generation, stop string, max tokens): release
    // held text, report parsed tool calls, then Done.
    void end_generation(ActiveRequest& active, FinishReason reason) {
        if (reason != FinishReason::StopString) {
            std::string tail = active.text->finish();
            if (!tail.empty()) emit_text(active, -1, std::move(tail));
        }
        if (active.request.classifier) {
            ToolCallOutcome outcome = active.request.classifier->finish_tool_calls();
            if (outcome.error != ErrorKind::None) {
                fail(active, outcome.error, std::move(outcome.message));
                return;
            }
            if (!outcome.calls.empty()) {
                Event event;
                event.request_id = active.request.id;
                event.kind = EventKind::ToolCalls;
                event.tool_calls = std::move(outcome.calls);
                pending_events_.push_back(std::move(event));
            }
        }
        finish(active, reason);
    }

    void emit_done(RequestId id, FinishReason reason, Usage usage) {
        Event event;
        event.request_id = id;
        event.kind = EventKind::Done;
        event.finish_reason = reason;
        event.usage = usage;
        pending_events_.push_back(std::move(event));
    }

    void emit_error(RequestId id, ErrorKind kind, std::string message, Usage usage) {
        Event event;
        event.request_id = id;
        event.kind = EventKind::Error;
        event.error_kind = kind;
        event.message = std::move(message);
        event.usage = usage;
        pending_events_.push_back(std::move(event));
    }

    // Ends a request; its slot is free from the next admission on and keeps
    // its cache for prefix reuse.
    void finish(ActiveRequest& active, FinishReason reason) {
        emit_done(active.request.id, reason, active.usage);
        retire(active.slot);
    }

    void fail(ActiveRequest& active, ErrorKind kind, std::string message) {
        emit_error(active.request.id, kind, std::move(message), active.usage);
        retire(active.slot);
    }

    void retire(std::uint32_t slot) {
        if (engine_.encoder_ && active_[slot]) {
            // Its images still queued are not encoded for nobody.
            engine_.encoder_->cancel(active_[slot]->request.id);
        }
        active_[slot].reset();
        slots_.release(slot);
        std::erase(admission_order_, slot);
    }

    void fail_all_active(const std::string& message) {
        for (auto& active : active_) {
            if (!active) continue;
            const auto slot = active->slot;
            fail(*active, ErrorKind::DecodeFailed, message);
            llama_memory_seq_rm(memory_, static_cast<llama_seq_id>(slot), -1, -1);
            slots_.cached(slot).clear();
        }
    }

    void end_everything() {
        for (auto& active : active_) {
            if (active) fail(*active, ErrorKind::ShuttingDown, "the engine shut down before the request finished");
        }
        for (const auto& request : waiting_) {
            Usage usage;
            usage.prompt_tokens = static_cast<std::int32_t>(request.prompt_tokens.size());
            emit_error(request.id, ErrorKind::ShuttingDown, "the engine shut down before the request started", usage);
        }
        waiting_.clear();
        // A submit that saw the engine running may still be preparing its
        // request: wait until it has pushed, so that it is answered here.
        // One that comes later sees stopping_ and answers itself.
        for (auto in_flight = engine_.submits_in_flight_.load(); in_flight != 0;
             in_flight = engine_.submits_in_flight_.load()) {
            engine_.submits_in_flight_.wait(in_flight);
        }
        while (auto command = engine_.commands_.pop()) {
            if ((*command)->kind == Engine::Command::Kind::Submit) {
                emit_error((*command)->id, ErrorKind::ShuttingDown, "the engine is shutting down", Usage{});
            }
        }
    }

    std::size_t active_count() const {
        return static_cast<std::size_t>(
            std::count_if(active_.begin(), active_.end(), [](const auto& a) { return a.has_value(); }));
    }

    void publish() {
        EngineStatus status;
        status.slots_total = slots_.size();
        status.requests_waiting = static_cast<std::uint32_t>(waiting_.size());
        status.steps = steps_;
        status.images_encoded_alone = images_encoded_alone_;
        status.images_encoded_beside = images_encoded_beside_;
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            SlotStatus slot{i, SlotState::Idle, std::nullopt, static_cast<std::uint32_t>(slots_.cached(i).size())};
            if (active_[i]) {
                slot.state = active_[i]->state;
                slot.request_id = active_[i]->request.id;
                status.slots_processing += 1;
            }
            status.slots.push_back(slot);
        }
        {
            std::lock_guard lock(engine_.status_mutex_);
            engine_.status_ = std::move(status);
        }
        if (pending_events_.empty()) return;
        for (auto& event : pending_events_) {
            engine_.events_.push(std::move(event));
        }
        pending_events_.clear();
        engine_.events_signal_.notify();
    }

    Engine& engine_;
    llama_context* ctx_;
    const llama_vocab* vocab_;
    llama_memory_t memory_;
    SlotTable slots_;
    std::vector<std::optional<ActiveRequest>> active_;  // by slot
    std::vector<std::uint32_t> admission_order_;        // busy slots, oldest first
    std::deque<PreparedRequest> waiting_;
    std::vector<Event> pending_events_;
    std::vector<bool> is_eog_;
    std::uint64_t steps_ = 0;
    std::optional<std::uint32_t> image_slot_;  // the slot whose image goes in this step
    EncodePolicy policy_{engine_.params_.n_batch};
    bool encoding_alone_ = false;  // whether the encode running now pauses decoding
    std::uint64_t images_encoded_alone_ = 0;
    std::uint64_t images_encoded_beside_ = 0;
    llama_batch batch_;
};

void Engine::run() {
    name_this_thread("paddler-engine");
    EngineLoop loop(*this);
    loop.run();
}

}  // namespace paddler
