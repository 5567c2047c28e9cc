// The inference engine: one llama.cpp model and context, N slots, and one
// thread that runs the continuous-batching loop over them.
//
// Thread contract
// ---------------
// - The constructor loads the model and starts the engine thread; it throws
//   ModelLoadError (bad file, context creation failed) or
//   std::invalid_argument (bad parameters) and then owns no thread.
// - submit(), cancel(), status(), tokenize(), metadata(), chat_template() and
//   event_fd() may be called from any thread at any time. submit() and
//   cancel() never block: they push onto a lock-free queue and wake the
//   engine thread. Every submitted request gets exactly one final event (Done
//   or Error), a submit that races with shutdown() included: the engine
//   thread's final drain waits for the submits that saw it running.
// - drain_events() is called by one reader thread at a time (the asyncio
//   loop). The event fd becomes readable when events are waiting; the reader
//   calls drain_events() until it returns fewer than it asked for.
// - shutdown() (also run by the destructor) ends every request still waiting
//   or running with ErrorKind::ShuttingDown, joins the engine thread and
//   returns; those final events can still be drained afterwards.
//
// One step of the engine thread, in this order
// --------------------------------------------
//   1. commands: new requests join the waiting queue, cancellations retire
//      their request (Done/Cancelled) at once;
//   2. admit:    waiting requests take free slots (longest cached prefix
//      first), dropping the part of the slot's cache they do not share; the
//      images of their prompts past the reused prefix go to the encoder;
//   3. batch:    the sampled token of every generating slot, then prompt
//      chunks of prefilling slots, up to n_batch tokens in all; a prompt's
//      text stops at its next image;
//   4. decode:   at most one image whose embeddings the encoder finished
//      (its own llama_decode: a batch holds tokens or embeddings, not both;
//      before the tokens, whose logits are sampled), then one llama_decode
//      for the whole token batch;
//   5. sample:   each slot whose logits came out samples with its own chain;
//   6. emit:     token text (UTF-8 complete, stop strings held back);
//   7. retire:   finished requests free their slot (its cache is kept).
// Events of one step are published together with one wake-up.
//
// Images (with a multimodal projection): the vision encoder runs on a thread
// of its own (image_encoder.hpp), so a step never waits for an image to be
// encoded; the engine thread only decodes finished embeddings, one image a
// step, each no larger than n_batch tokens. A slot whose next image is still
// being encoded waits while the others decode. Finished encodings are taken
// with the commands, at the start of a step.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu_threadpools.hpp"
#include "embedding_normalization.hpp"
#include "mpsc_queue.hpp"
#include "types.hpp"
#include "wake_signal.hpp"

struct llama_model;
struct llama_context;

namespace paddler {

class ModelLoadError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// render_conversation() could not render: bad template, bad conversation.
class ChatTemplateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class EngineLoop;  // engine thread state; defined in engine.cpp
class EmbeddingRunner;
class ImageEncoder;
class MultimodalProjector;
class RequestPreparer;

class Engine {
  public:
    Engine(const std::string& model_path, const EngineParams& params);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Renders, tokenizes and builds the sampler on the caller's thread (so a
    // long prompt or a grammar never stalls the batch) and queues the
    // request. Problems with the request itself come back as an Error event,
    // like every other outcome.
    void submit(Request request);
    void cancel(RequestId id);

    std::vector<Event> drain_events(std::size_t max_events);
    int event_fd() const { return events_signal_.fd(); }

    EngineStatus status() const;
    std::vector<std::int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const;
    std::string detokenize(const std::vector<std::int32_t>& tokens) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    // The model's own chat template (tokenizer.chat_template), or "".
    const std::string& chat_template() const { return chat_template_; }
    // Why conversations cannot be rendered (the override does not compile,
    // the model has no template), or "".
    const std::string& chat_template_error() const;
    // The prompt a conversation request (conversation_json, tools_json,
    // add_generation_prompt, enable_thinking) renders to; throws
    // ChatTemplateError. Any thread.
    std::string render_conversation(const Request& request) const;

    // Any thread; blocks until done. Throws std::invalid_argument when
    // embeddings are not enabled, EmbeddingInputError for a bad document and
    // EmbeddingError when computing fails.
    std::vector<EmbeddingResult> embed(const std::vector<EmbeddingInput>& inputs, const Normalization& normalization);
    // Any thread. How many tokens each document takes; throws
    // EmbeddingInputError for the first document embed() would refuse.
    std::vector<std::uint32_t> embedding_token_counts(const std::vector<EmbeddingInput>& inputs) const;
    // How many documents one pass of the embedding context takes at most
    // (and embedding_batch_size tokens in all); 0 when embeddings are off.
    std::uint32_t embedding_sequences_per_batch() const;
    bool embeddings_enabled() const { return embeddings_ != nullptr; }
    // Whether image parts are served (a multimodal projection is loaded).
    bool multimodal() const { return projector_ != nullptr; }
    // The pooling the embedding context really uses (Unspecified resolved
    // from the model), Unspecified when embeddings are off.
    PoolingType pooling_type() const;

    std::uint32_t slots() const { return params_.slots; }
    std::uint32_t slot_context_size() const { return slot_context_size_; }
    // How flash attention was chosen at load, in words (for the agent's log).
    const std::string& flash_attention_summary() const { return flash_attention_summary_; }
    std::int32_t vocab_size() const;
    std::int32_t embedding_size() const;

    void shutdown();

  private:
    friend class EngineLoop;

    void run();
    void push_command_wake();

    EngineParams params_;
    llama_model* model_ = nullptr;
    // Outlives context_: the destructor frees the context in its body, before members go.
    std::unique_ptr<CpuThreadpools> threadpools_;
    llama_context* context_ = nullptr;
    std::uint32_t slot_context_size_ = 0;
    std::string flash_attention_summary_;
    std::map<std::string, std::string> metadata_;
    std::string chat_template_;
    std::unique_ptr<MultimodalProjector> projector_;
    std::unique_ptr<RequestPreparer> preparer_;
    std::unique_ptr<EmbeddingRunner> embeddings_;
    // Started with the engine thread when there is a projector; stopped after it.
    std::unique_ptr<ImageEncoder> encoder_;

    struct Command;
    MpscQueue<std::unique_ptr<Command>> commands_;
    std::atomic<std::uint64_t> command_wake_{0};

    MpscQueue<Event> events_;
    WakeSignal events_signal_;

    mutable std::mutex status_mutex_;
    EngineStatus status_;

    std::mutex shutdown_mutex_;
    // Both sequentially consistent: a submit counts itself in, then reads
    // stopping_; the engine thread reads stopping_, then waits for the count
    // to fall to zero before its final drain. A submit it does not wait for
    // therefore sees stopping_ and answers itself.
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint32_t> submits_in_flight_{0};
    std::thread thread_;
};

}  // namespace paddler
