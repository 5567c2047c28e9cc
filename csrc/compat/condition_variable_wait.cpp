// Wheels are built on Debian 12 (GCC 12) but run where the glibc is 2.34 and
// libstdc++ older than GCC 12's (RHEL 9 and its rebuilds). GCC 12 gave
// std::condition_variable::wait(unique_lock&) a new symbol version,
// GLIBCXX_3.4.30, the only one our libraries need from it; that alone raised
// the wheels' tag to manylinux_2_35. Wheel builds link every library with
// --wrap for that symbol (CMakeLists.txt), and this wrapper calls the same
// function under its version of GCC 4.4 on, GLIBCXX_3.4.11, which every
// libstdc++ since then has (GCC 12's keeps it too: the same implementation).
#include <condition_variable>
#include <mutex>

extern "C" {

void paddler_condition_variable_wait_3_4_11(std::condition_variable* self, std::unique_lock<std::mutex>* lock);
__asm__(".symver paddler_condition_variable_wait_3_4_11,"
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");

// A member function's `this` and reference arguments are pointers in the
// x86-64 System V calling convention: the wrapper forwards them as such.
__attribute__((visibility("default"))) void __wrap__ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE(
    std::condition_variable* self, std::unique_lock<std::mutex>* lock) {
    paddler_condition_variable_wait_3_4_11(self, lock);
}
}
