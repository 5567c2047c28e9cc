// When the vision encoder may take the cores, and whether decoding pauses
// for it.
//
// An image's encoding is one graph that cannot be cut into steps. On a CPU
// it either runs alone, with every core while the other slots wait (the
// fastest time to the image request's first token, what llama-server always
// does), or beside decoding at a lower priority with the cores the decode
// threads leave (the other slots keep their pace, the image waits longer).
// The engine already lets a full prompt batch (n_batch tokens) hold every
// generating slot for one step; an encode is allowed the same: one expected
// to take no longer than such a step runs alone, a longer one beside.
// Between two encodes that run alone at least one decode step runs, so a
// stream of images cannot starve the slots that generate text.
//
// Both durations are learnt while serving: the encoder's seconds per image
// token from its encodes, a batch's from the decode steps of several tokens.
// Until they are known an encode runs alone, as llama-server's do.
//
// Thread contract: the engine thread only; no locking.
#pragma once

#include <cstdint>
#include <optional>

namespace paddler {

enum class EncodeDecision : std::uint8_t {
    Wait,          // nothing to start now
    StartAlone,    // start it; no decode step until it is done
    StartBeside,   // start it; decoding goes on
};

class EncodePolicy {
  public:
    explicit EncodePolicy(std::uint32_t n_batch) : n_batch_(n_batch) {}

    // An image of `image_tokens` is queued and the encoder is idle;
    // `step_has_work` says whether a decode step now would decode anything.
    EncodeDecision decide(std::int32_t image_tokens, bool step_has_work) const;

    void started_alone() { steps_since_alone_ = 0; }
    // A decode step of `tokens` tokens took `seconds`.
    void stepped(std::int32_t tokens, double seconds);
    // An encode of `image_tokens` took `seconds`. Those run beside decoding
    // count too: they can only be slower than alone, so they err towards
    // running beside, never towards stalling the other slots.
    void encoded(std::int32_t image_tokens, double seconds);

    std::optional<double> expected_encode_seconds(std::int32_t image_tokens) const;
    // How long one full prompt batch is expected to hold the other slots.
    std::optional<double> batch_seconds() const;

  private:
    std::uint32_t n_batch_;
    std::optional<double> encode_seconds_per_token_;
    std::optional<double> decode_seconds_per_token_;
    std::uint64_t steps_since_alone_ = 1;
};

}  // namespace paddler
