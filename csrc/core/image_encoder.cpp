#include "image_encoder.hpp"

#include <algorithm>
#include <cerrno>
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
    : projector_(projector), on_finished_(std::move(on_finished)), thread_([this] { run(); }) {}

ImageEncoder::~ImageEncoder() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
    }
    wake_.notify_one();
    thread_.join();
}

void ImageEncoder::submit(EncodeJob job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void ImageEncoder::cancel(RequestId request_id) {
    std::lock_guard lock(mutex_);
    std::erase_if(jobs_, [&](const EncodeJob& job) { return job.request_id == request_id; });
}

std::vector<EncodedImage> ImageEncoder::take_finished() {
    std::lock_guard lock(mutex_);
    return std::exchange(finished_, {});
}

namespace {

// Encoding an image is one request's time to first token; decoding is every
// generating slot's next token. On a CPU the two share cores, and a decode
// step waits at ggml's barriers for its slowest thread: each time the
// encoder takes a decode thread's core, the whole step waits. A lower
// priority (nice 10) gives the encoder the time decoding leaves; the threads
// ggml starts for an encode inherit it. Linux only (elsewhere a thread has no
// nice value of its own).
void lower_priority_of_this_thread() {
#ifdef __linux__
    const auto thread_id = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, thread_id);
    if (errno == 0) ::setpriority(PRIO_PROCESS, thread_id, std::min(current + 10, 19));
#endif
}

}  // namespace

void ImageEncoder::run() {
    name_this_thread("paddler-encoder");
    lower_priority_of_this_thread();
    while (true) {
        EncodeJob job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        EncodedImage result;
        result.request_id = job.request_id;
        result.image = job.image;
        try {
            result.embeddings = projector_.encode(job.chunk.get());
        } catch (const std::exception& error) {
            result.error = error.what();
        }
        {
            std::lock_guard lock(mutex_);
            finished_.push_back(std::move(result));
        }
        on_finished_();
    }
}

}  // namespace paddler
