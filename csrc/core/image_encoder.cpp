#include "image_encoder.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <utility>

#include "thread_name.hpp"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace paddler {

ImageEncoder::ImageEncoder(MultimodalProjector& projector, std::function<void()> on_finished)
    : projector_(projector),
      on_finished_(std::move(on_finished)),
      alone_thread_([this] { run(true); }),
      beside_thread_([this] { run(false); }) {}

ImageEncoder::~ImageEncoder() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        started_.reset();
    }
    wake_.notify_all();
    alone_thread_.join();
    beside_thread_.join();
}

void ImageEncoder::submit(EncodeJob job) { queued_.push_back(std::move(job)); }

const EncodeJob* ImageEncoder::next() const {
    if (running_ || queued_.empty()) return nullptr;
    return &queued_.front();
}

void ImageEncoder::start_next(bool alone) {
    if (running_ || queued_.empty()) return;
    running_ = queued_.front().request_id;
    {
        std::lock_guard lock(mutex_);
        started_ = std::move(queued_.front());
        started_alone_ = alone;
    }
    queued_.pop_front();
    wake_.notify_all();
}

void ImageEncoder::cancel(RequestId request_id) {
    std::erase_if(queued_, [&](const EncodeJob& job) { return job.request_id == request_id; });
}

std::vector<EncodedImage> ImageEncoder::take_finished() {
    std::vector<EncodedImage> finished;
    {
        std::lock_guard lock(mutex_);
        finished = std::exchange(finished_, {});
    }
    if (!finished.empty()) running_.reset();
    return finished;
}

namespace {

// Encoding an image is one request's time to first token; decoding is every
// generating slot's next token. When the two run together on a CPU they
// share cores, and a decode step waits at ggml's barriers for its slowest
// thread: each time the encoder takes a decode thread's core, the whole step
// waits. A lower priority (nice 10) gives the encoder beside decoding the
// time decoding leaves; the threads ggml starts for an encode inherit it.
// Linux only (elsewhere a thread has no nice value of its own).
void lower_priority_of_this_thread() {
#ifdef __linux__
    const auto thread_id = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, thread_id);
    if (errno == 0) ::setpriority(PRIO_PROCESS, thread_id, std::min(current + 10, 19));
#endif
}

}  // namespace

void ImageEncoder::run(bool alone) {
    name_this_thread("paddler-encoder");
    if (!alone) lower_priority_of_this_thread();
    while (true) {
        EncodeJob job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || (started_.has_value() && started_alone_ == alone); });
            if (stopping_) return;
            job = std::move(*started_);
            started_.reset();
        }
        EncodedImage result;
        result.request_id = job.request_id;
        result.image = job.image;
        result.tokens = job.tokens;
        const auto began = std::chrono::steady_clock::now();
        try {
            result.embeddings = projector_.encode(job.chunk.get());
        } catch (const std::exception& error) {
            result.error = error.what();
        }
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        {
            std::lock_guard lock(mutex_);
            finished_.push_back(std::move(result));
        }
        on_finished_();
    }
}

}  // namespace paddler
