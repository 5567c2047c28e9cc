// A file descriptor that becomes readable when the engine has events, so an
// event loop (asyncio's add_reader) can wait on it without a thread of its
// own. eventfd on Linux (one counter, many notifications coalesce); a
// non-blocking pipe elsewhere.
//
// Thread contract: notify() from any thread; clear() from the reader only.
#pragma once

namespace paddler {

class WakeSignal {
  public:
    WakeSignal();
    ~WakeSignal();
    WakeSignal(const WakeSignal&) = delete;
    WakeSignal& operator=(const WakeSignal&) = delete;

    int fd() const { return read_fd_; }
    void notify();
    // Makes the descriptor unreadable again until the next notify(). Call it
    // before draining, so a notify() that races with the drain is not lost.
    void clear();

  private:
    int read_fd_ = -1;
    int write_fd_ = -1;
};

}  // namespace paddler
