#include <poll.h>

#include <thread>

#include "check.hpp"
#include "wake_signal.hpp"

using namespace paddler;

static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void becomes_readable_on_notify_and_not_after_clear() {
    WakeSignal signal;
    CHECK(!readable(signal.fd()));
    signal.notify();
    signal.notify();
    CHECK(readable(signal.fd()));
    signal.clear();
    CHECK(!readable(signal.fd()));
}

static void a_notify_from_another_thread_wakes_a_poller() {
    WakeSignal signal;
    std::thread notifier([&] { signal.notify(); });
    pollfd p{signal.fd(), POLLIN, 0};
    CHECK(poll(&p, 1, 5000) == 1);
    notifier.join();
}

int main() {
    becomes_readable_on_notify_and_not_after_clear();
    a_notify_from_another_thread_wakes_a_poller();
    return 0;
}
