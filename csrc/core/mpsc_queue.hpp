// An unbounded, lock-free multi-producer single-consumer queue (Dmitry
// Vyukov's intrusive node design). Producers never block or spin on each
// other: push is one exchange and one store. The single consumer may briefly
// see the queue as empty while a push is halfway done; it then finds the item
// on its next pop, which is harmless for both of our uses (commands into the
// engine, events out of it) because every push is followed by a wake-up.
//
// Thread contract: push() from any thread; pop() from one thread at a time.
#pragma once

#include <atomic>
#include <optional>
#include <utility>

namespace paddler {

template <typename T>
class MpscQueue {
  public:
    MpscQueue() : head_(new Node()), tail_(head_.load(std::memory_order_relaxed)) {}

    MpscQueue(const MpscQueue&) = delete;
    MpscQueue& operator=(const MpscQueue&) = delete;

    ~MpscQueue() {
        while (pop()) {
        }
        delete tail_;
    }

    void push(T value) {
        Node* node = new Node(std::move(value));
        Node* previous = head_.exchange(node, std::memory_order_acq_rel);
        previous->next.store(node, std::memory_order_release);
    }

    std::optional<T> pop() {
        Node* tail = tail_;
        Node* next = tail->next.load(std::memory_order_acquire);
        if (next == nullptr) {
            return std::nullopt;
        }
        std::optional<T> value(std::move(*next->value));
        next->value.reset();
        tail_ = next;
        delete tail;
        return value;
    }

  private:
    struct Node {
        Node() = default;
        explicit Node(T v) : value(std::move(v)) {}
        std::atomic<Node*> next{nullptr};
        std::optional<T> value;
    };

    alignas(64) std::atomic<Node*> head_;  // producers
    alignas(64) Node* tail_;               // the consumer (a stub node at start)
};

}  // namespace paddler
