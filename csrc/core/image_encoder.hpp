// Runs the vision encoder on a thread of its own, one image chunk at a time,
// so that encoding an image (one graph of the projector, which cannot be cut
// into pieces) never stalls the engine thread's decoding of the other slots.
// The engine thread only feeds the finished embeddings into its batches.
// The encoder thread runs at a lower priority than the decode threads, with
// the cores they leave (at least one): a slot's next token matters more than
// another request's image being ready a little sooner.
//
// Thread contract: submit(), cancel() and take_finished() are called by the
// engine thread; the encoder thread calls `on_finished` (which must not
// block) after each job, so the engine thread wakes up and takes it. The
// destructor stops the thread after the encode in progress, if any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "multimodal_projector.hpp"
#include "types.hpp"

namespace paddler {

struct EncodeJob {
    RequestId request_id = 0;
    std::size_t image = 0;  // index among the request's image chunks
    SharedChunk chunk;
};

struct EncodedImage {
    RequestId request_id = 0;
    std::size_t image = 0;
    std::vector<float> embeddings;  // empty when encoding failed
    std::string error;
};

class ImageEncoder {
  public:
    ImageEncoder(MultimodalProjector& projector, std::function<void()> on_finished);
    ~ImageEncoder();
    ImageEncoder(const ImageEncoder&) = delete;
    ImageEncoder& operator=(const ImageEncoder&) = delete;

    void submit(EncodeJob job);
    // Drops the request's jobs that have not started; a finished or running
    // one still comes back from take_finished() and is ignored by its caller.
    void cancel(RequestId request_id);
    std::vector<EncodedImage> take_finished();

  private:
    void run();

    MultimodalProjector& projector_;
    std::function<void()> on_finished_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<EncodeJob> jobs_;
    std::vector<EncodedImage> finished_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace paddler
