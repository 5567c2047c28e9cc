#include "slot_table.hpp"

#include <algorithm>

namespace paddler {

std::size_t common_prefix_length(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
    const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return static_cast<std::size_t>(ia - a.begin());
}

SlotTable::SlotTable(std::uint32_t slots) : slots_(slots) {}

std::uint32_t SlotTable::busy_count() const {
    return static_cast<std::uint32_t>(std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy; }));
}

std::optional<SlotChoice> SlotTable::choose_free_slot(const std::vector<std::int32_t>& prompt) const {
    std::optional<SlotChoice> best;
    std::uint64_t best_last_used = 0;
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = slots_[i];
        if (slot.busy) {
            continue;
        }
        std::size_t shared = common_prefix_length(slot.cached, prompt);
        if (!prompt.empty() && shared >= prompt.size()) {
            shared = prompt.size() - 1;
        }
        const auto reused = static_cast<std::uint32_t>(shared);
        const bool better = !best || reused > best->reused_tokens ||
                            (reused == best->reused_tokens && slot.last_used < best_last_used);
        if (better) {
            best = SlotChoice{i, reused};
            best_last_used = slot.last_used;
        }
    }
    return best;
}

void SlotTable::claim(std::uint32_t slot) {
    slots_[slot].busy = true;
    slots_[slot].last_used = ++clock_;
}

void SlotTable::release(std::uint32_t slot) {
    slots_[slot].busy = false;
    slots_[slot].last_used = ++clock_;
}

}  // namespace paddler
