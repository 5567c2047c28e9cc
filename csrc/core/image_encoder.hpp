// Runs the vision encoder on a thread of its own, one image chunk at a time:
// encoding an image is one graph of the projector, which cannot be cut into
// steps, so the engine thread does not run it. The engine thread queues
// jobs, starts them one at a time when its EncodePolicy says so (either
// pausing its decode steps meanwhile or decoding on beside it), and feeds
// the finished embeddings into its batches.
// Two encoder threads share the projector, one encode at a time: one at the
// decode threads' priority for the encodes decoding pauses for (any other
// thread on the machine, say the agent's event loop, would otherwise stall
// the encoder's threads at ggml's barriers), one at a lower priority for
// those that run beside decoding, so that a slot's next token goes first.
//
// Thread contract: every method but the destructor is called by the engine
// thread; an encoder thread calls `on_finished` (which must not block)
// after each job, so the engine thread wakes up and takes it. The
// destructor stops the threads after the encode in progress, if any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "multimodal_projector.hpp"
#include "types.hpp"

namespace paddler {

struct EncodeJob {
    RequestId request_id = 0;
    std::size_t image = 0;  // index among the request's image chunks
    std::int32_t tokens = 0;  // the image's tokens (embeddings) once encoded
    SharedChunk chunk;
};

struct EncodedImage {
    RequestId request_id = 0;
    std::size_t image = 0;
    std::vector<float> embeddings;  // empty when encoding failed
    std::string error;
    std::int32_t tokens = 0;
    double seconds = 0.0;  // the encode's wall time
};

class ImageEncoder {
  public:
    ImageEncoder(MultimodalProjector& projector, std::function<void()> on_finished);
    ~ImageEncoder();
    ImageEncoder(const ImageEncoder&) = delete;
    ImageEncoder& operator=(const ImageEncoder&) = delete;

    // Queues a job; it waits for start_next().
    void submit(EncodeJob job);
    // The oldest queued job, if any and no job is running.
    const EncodeJob* next() const;
    // Starts the oldest queued job, at the decode threads' priority when
    // decoding pauses for it (`alone`), else at a lower one.
    void start_next(bool alone);
    // The request whose job runs now, if any.
    std::optional<RequestId> running() const { return running_; }
    // Drops the request's jobs that have not started; a finished or running
    // one still comes back from take_finished() and is ignored by its caller.
    void cancel(RequestId request_id);
    std::vector<EncodedImage> take_finished();

  private:
    void run(bool alone);

    MultimodalProjector& projector_;
    std::function<void()> on_finished_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<EncodeJob> queued_;            // engine thread only
    std::optional<RequestId> running_;         // engine thread only
    std::optional<EncodeJob> started_;         // handed to an encoder thread
    bool started_alone_ = false;               // which one
    std::vector<EncodedImage> finished_;
    bool stopping_ = false;
    std::thread alone_thread_;
    std::thread beside_thread_;
};

}  // namespace paddler
