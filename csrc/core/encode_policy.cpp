#include "encode_policy.hpp"

#include <algorithm>

namespace paddler {

namespace {

// Steps of fewer tokens cost mostly the weights' reading, not their tokens:
// their seconds per token would overstate a full batch.
constexpr std::int32_t kMinTokensTimed = 8;
// Later measurements weigh more: depth, load and the machine change.
constexpr double kWeightOfNew = 0.25;

void blend(std::optional<double>& average, double sample) {
    average = average ? *average + kWeightOfNew * (sample - *average) : sample;
}

}  // namespace

EncodeDecision EncodePolicy::decide(std::int32_t image_tokens, bool step_has_work) const {
    if (!step_has_work) return EncodeDecision::StartAlone;
    const auto expected = expected_encode_seconds(image_tokens);
    const auto budget = batch_seconds();
    if (expected && budget && *expected > *budget) return EncodeDecision::StartBeside;
    return steps_since_alone_ > 0 ? EncodeDecision::StartAlone : EncodeDecision::Wait;
}

void EncodePolicy::stepped(std::int32_t tokens, double seconds) {
    steps_since_alone_ += 1;
    if (tokens >= kMinTokensTimed && seconds >= 0.0) blend(decode_seconds_per_token_, seconds / tokens);
}

void EncodePolicy::encoded(std::int32_t image_tokens, double seconds) {
    if (image_tokens > 0 && seconds >= 0.0) blend(encode_seconds_per_token_, seconds / image_tokens);
}

std::optional<double> EncodePolicy::expected_encode_seconds(std::int32_t image_tokens) const {
    if (!encode_seconds_per_token_) return std::nullopt;
    return *encode_seconds_per_token_ * std::max(image_tokens, 1);
}

std::optional<double> EncodePolicy::batch_seconds() const {
    if (!decode_seconds_per_token_) return std::nullopt;
    return *decode_seconds_per_token_ * static_cast<double>(n_batch_);
}

}  // namespace paddler
