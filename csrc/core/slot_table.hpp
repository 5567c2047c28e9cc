// Which slot a new request goes to, and what each slot's KV cache holds.
//
// A slot is one llama.cpp sequence. After a request ends, its tokens stay in
// the sequence's KV cache; the next request that starts with the same tokens
// (the next turn of a conversation, a shared system prompt) goes to that slot
// and prefills only the rest. Paddler clears the cache after every request;
// this is where we win time-to-first-token.
//
// Pure bookkeeping, no llama.cpp calls, so it is unit tested without a model.
// Thread contract: owned and used by the engine thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace paddler {

struct SlotChoice {
    std::uint32_t slot = 0;
    // Tokens of the prompt already in the slot's cache. Always leaves at
    // least one prompt token to decode, because sampling needs its logits.
    std::uint32_t reused_tokens = 0;
};

std::size_t common_prefix_length(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b);

class SlotTable {
  public:
    explicit SlotTable(std::uint32_t slots);

    std::uint32_t size() const { return static_cast<std::uint32_t>(slots_.size()); }
    std::uint32_t busy_count() const;

    // The free slot sharing the longest prefix with `prompt`; among equals the
    // one used least recently, so recently used caches live longer.
    std::optional<SlotChoice> choose_free_slot(const std::vector<std::int32_t>& prompt) const;

    void claim(std::uint32_t slot);
    void release(std::uint32_t slot);

    // The tokens whose keys and values are in the slot's sequence, in order.
    std::vector<std::int32_t>& cached(std::uint32_t slot) { return slots_[slot].cached; }
    const std::vector<std::int32_t>& cached(std::uint32_t slot) const { return slots_[slot].cached; }

  private:
    struct Slot {
        bool busy = false;
        std::uint64_t last_used = 0;
        std::vector<std::int32_t> cached;
    };
    std::vector<Slot> slots_;
    std::uint64_t clock_ = 0;
};

}  // namespace paddler
