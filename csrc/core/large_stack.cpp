#include "large_stack.hpp"

#include <pthread.h>

#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

namespace paddler {

namespace {

struct Call {
    const std::function<void()>* work;
    std::exception_ptr error;
};

void* run_call(void* argument) {
    auto* call = static_cast<Call*>(argument);
    try {
        (*call->work)();
    } catch (...) {
        call->error = std::current_exception();
    }
    return nullptr;
}

}  // namespace

void run_on_large_stack(std::size_t stack_bytes, const std::function<void()>& work) {
    // std::thread cannot be given a stack size; pthreads can, and glibc puts
    // a guard page below the stack, so an overflow still faults rather than
    // writing over a neighbour.
    Call call{&work, nullptr};
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    int status = pthread_attr_setstacksize(&attributes, stack_bytes);
    pthread_t thread;
    if (status == 0) {
        status = pthread_create(&thread, &attributes, run_call, &call);
    }
    pthread_attr_destroy(&attributes);
    if (status != 0) {
        throw std::runtime_error(std::string("cannot start a thread to render the chat template on: ") +
                                 std::strerror(status));
    }
    pthread_join(thread, nullptr);
    if (call.error) {
        std::rethrow_exception(call.error);
    }
}

}  // namespace paddler
