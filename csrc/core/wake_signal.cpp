#include "wake_signal.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

namespace paddler {

WakeSignal::WakeSignal() {
#if defined(__linux__)
    read_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (read_fd_ < 0) {
        throw std::runtime_error(std::string("eventfd failed: ") + std::strerror(errno));
    }
    write_fd_ = read_fd_;
#else
    int fds[2];
    if (pipe(fds) != 0) {
        throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
    }
    for (int fd : fds) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
#endif
}

WakeSignal::~WakeSignal() {
    if (read_fd_ >= 0) {
        close(read_fd_);
    }
    if (write_fd_ >= 0 && write_fd_ != read_fd_) {
        close(write_fd_);
    }
}

void WakeSignal::notify() {
#if defined(__linux__)
    std::uint64_t one = 1;
    // EAGAIN means the counter is saturated: the reader is already woken.
    [[maybe_unused]] auto written = write(write_fd_, &one, sizeof(one));
#else
    char byte = 1;
    // EAGAIN means the pipe is full: the reader is already woken.
    [[maybe_unused]] auto written = write(write_fd_, &byte, 1);
#endif
}

void WakeSignal::clear() {
#if defined(__linux__)
    std::uint64_t counter = 0;
    [[maybe_unused]] auto got = read(read_fd_, &counter, sizeof(counter));
#else
    char buffer[256];
    while (read(read_fd_, buffer, sizeof(buffer)) > 0) {
    }
#endif
}

}  // namespace paddler
