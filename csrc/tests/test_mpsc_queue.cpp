#include <thread>
#include <vector>

#include "check.hpp"
#include "mpsc_queue.hpp"

using namespace paddler;

static void pops_in_push_order_from_one_producer() {
    MpscQueue<int> queue;
    for (int i = 0; i < 100; ++i) queue.push(i);
    for (int i = 0; i < 100; ++i) {
        auto v = queue.pop();
        CHECK(v.has_value() && *v == i);
    }
    CHECK(!queue.pop().has_value());
}

static void loses_nothing_with_four_producers_and_a_concurrent_consumer() {
    MpscQueue<long> queue;
    constexpr int producers = 4;
    constexpr long per_producer = 200000;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&queue, p] {
            for (long i = 0; i < per_producer; ++i) queue.push(p * per_producer + i);
        });
    }
    std::vector<long> last_seen(producers, -1);
    long received = 0;
    while (received < producers * per_producer) {
        auto v = queue.pop();
        if (!v) continue;
        const int producer = static_cast<int>(*v / per_producer);
        // Each producer's items arrive in its own order.
        CHECK(*v > last_seen[producer]);
        last_seen[producer] = *v;
        ++received;
    }
    for (auto& t : threads) t.join();
    CHECK(!queue.pop().has_value());
}

int main() {
    pops_in_push_order_from_one_producer();
    loses_nothing_with_four_producers_and_a_concurrent_consumer();
    return 0;
}
