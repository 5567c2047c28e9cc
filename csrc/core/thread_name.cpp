#include "thread_name.hpp"

#ifdef __linux__
#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>
#endif

namespace paddler {

void name_this_thread(const char* name) {
#ifdef __linux__
    // pthread_setname_np refuses names over 15 characters outright.
    const std::string kept(name, std::min<std::size_t>(std::strlen(name), 15));
    pthread_setname_np(pthread_self(), kept.c_str());
#else
    (void)name;
#endif
}

}  // namespace paddler
