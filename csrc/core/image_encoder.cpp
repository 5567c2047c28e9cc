#include "image_encoder.hpp"

#include <algorithm>
#include <exception>
#include <utility>

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

void ImageEncoder::run() {
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
