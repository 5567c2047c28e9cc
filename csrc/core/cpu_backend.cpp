#include "cpu_backend.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#if defined(PADDLER_BACKEND_DL)
#include <dlfcn.h>

#include <filesystem>
#endif

#if defined(PADDLER_TINYBLAS_WRAPPED) && !defined(PADDLER_BACKEND_DL)
#include "matrix_kernels_wrapper.hpp"
#endif

namespace paddler {

namespace {

#if defined(__x86_64__)
bool cpu_reports_amx() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
    const bool tile = (d >> 24) & 1U;
    const bool int8 = (d >> 25) & 1U;
    return tile && int8;
}

// XCR0: which register states the OS saves across context switches. An
// instruction whose registers it does not save faults although the CPU
// reports it (ggml's scorer reads only the CPU's report).
std::uint64_t os_saved_states() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0 || ((c >> 27) & 1U) == 0) return 0;  // no OSXSAVE
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

constexpr std::uint64_t kAvxStates = (1U << 1) | (1U << 2);                           // XMM, YMM
constexpr std::uint64_t kAvx512States = kAvxStates | (1U << 5) | (1U << 6) | (1U << 7);  // opmask, ZMM
constexpr std::uint64_t kTileStates = (1U << 17) | (1U << 18);                          // XTILECFG, XTILEDATA

bool os_enables_tile_state() { return (os_saved_states() & kTileStates) == kTileStates; }

// Linux hands out the tile data state per process, on request (as ggml's AMX
// code asks for it too).
constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

bool process_granted_tile_state() { return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0; }

// The proof: a child executes a tile instruction. On the VMs we met, every
// check above passes or is skipped and the instruction still faults; only
// executing it tells. A child, so a fault costs nothing but its exit status.
bool tile_instruction_runs_in_a_child() {
    const pid_t child = fork();
    if (child < 0) return false;
    if (child == 0) {
        if (!process_granted_tile_state()) _exit(2);
        alignas(64) unsigned char config[64] = {};
        config[0] = 1;    // palette 1
        config[16] = 64;  // tile 0: 64 bytes per row
        config[48] = 16;  // tile 0: 16 rows
        __asm__ volatile("ldtilecfg %0" : : "m"(config));
        __asm__ volatile("tilezero %%tmm0" : :);
        __asm__ volatile("tilerelease" : :);
        _exit(0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) return false;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif

#if defined(PADDLER_BACKEND_DL)
// Our names for llama.cpp's libraries and ggml's backend modules
// (CMakeLists.txt): another llama.cpp in the process (llama-cpp-python's
// libllama.so, ggml's own libggml-cpu-*.so) cannot be taken for ours by the
// dynamic linker, which matches libraries by name.
constexpr const char* kModulePrefix = "libpaddler-ggml-";
constexpr const char* kCpuPrefix = "libpaddler-ggml-cpu-";
constexpr const char* kModuleSuffix = ".so";
// ggml's x86 scorer (ggml-cpu/arch/x86/cpu-feats.cpp) adds one bit per
// instruction set a variant was compiled with: they tell what it needs.
constexpr std::int32_t kAvxScoreBit = 1 << 4;
constexpr std::int32_t kAvx512ScoreBit = 1 << 7;
constexpr std::int32_t kAmxScoreBit = 1 << 11;

// Why a variant the CPU reports every instruction of still cannot run here;
// empty when it can.
std::string os_refusal(std::int32_t score) {
#if defined(__x86_64__)
    const std::uint64_t saved = os_saved_states();
    if ((score & kAvxScoreBit) != 0 && (saved & kAvxStates) != kAvxStates) {
        return "needs AVX, whose registers this OS does not save";
    }
    if ((score & kAvx512ScoreBit) != 0 && (saved & kAvx512States) != kAvx512States) {
        return "needs AVX-512, whose registers this OS does not save";
    }
    if ((score & kAmxScoreBit) != 0 && !amx_usable()) {
        return "needs AMX, which this CPU reports but faults on";
    }
#else
    (void)score;
#endif
    return {};
}

using ScoreFunction = int (*)();

struct CpuCandidate {
    CpuVariantChoice choice;
    std::filesystem::path path;
    void* handle = nullptr;
};

std::filesystem::path own_directory() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void*>(&own_directory), &info) == 0 || info.dli_fname == nullptr) {
        throw std::runtime_error("cannot tell where paddler's native module lies (dladdr failed)");
    }
    return std::filesystem::path(info.dli_fname).parent_path();
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<CpuCandidate> score_cpu_variants(const std::filesystem::path& directory) {
    std::vector<CpuCandidate> candidates;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        const std::string file = entry.path().filename().string();
        if (!starts_with(file, kCpuPrefix) || !ends_with(file, kModuleSuffix)) continue;
        CpuCandidate candidate;
        candidate.path = entry.path();
        candidate.choice.name = file.substr(std::string(kCpuPrefix).size(),
                                            file.size() - std::string(kCpuPrefix).size() -
                                                std::string(kModuleSuffix).size());
        // The score function is compiled without the variant's instructions,
        // so calling it is safe on any CPU (ggml builds it apart for this).
        candidate.handle = dlopen(candidate.path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (candidate.handle == nullptr) {
            const char* error = dlerror();
            candidate.choice.refused = std::string("cannot be loaded: ") + (error != nullptr ? error : "?");
        } else {
            auto score = reinterpret_cast<ScoreFunction>(dlsym(candidate.handle, "ggml_backend_score"));
            candidate.choice.score = score != nullptr ? score() : 0;
            candidate.choice.refused = candidate.choice.score == 0 ? "needs instructions this CPU lacks"
                                                                   : os_refusal(candidate.choice.score);
        }
        candidates.push_back(std::move(candidate));
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const CpuCandidate& a, const CpuCandidate& b) { return a.choice.name < b.choice.name; });
    return candidates;
}

template <typename Function>
Function resolve(void* handle, const char* name, const std::string& variant) {
    auto function = reinterpret_cast<Function>(dlsym(handle, name));
    if (function == nullptr) {
        throw std::runtime_error("the CPU backend " + variant + " lacks " + name);
    }
    return function;
}

struct LoadedBackends {
    CpuBackend cpu;
    std::vector<CpuVariantChoice> choices;
};

LoadedBackends load_backends() {
    const std::filesystem::path directory = own_directory();
    // GPU backends first: llama.cpp offloads to devices in the registry's
    // order, the CPU last (as ggml_backend_load_all orders them). One that
    // cannot load here (no driver) is skipped with ggml's message.
    std::vector<std::filesystem::path> gpu_modules;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        const std::string file = entry.path().filename().string();
        if (starts_with(file, kModulePrefix) && ends_with(file, kModuleSuffix) && !starts_with(file, kCpuPrefix) &&
            file != "libpaddler-ggml-base.so") {
            gpu_modules.push_back(entry.path());
        }
    }
    std::sort(gpu_modules.begin(), gpu_modules.end());
    for (const auto& module : gpu_modules) ggml_backend_load(module.c_str());

    std::vector<CpuCandidate> candidates = score_cpu_variants(directory);
    const char* forced = std::getenv("PADDLER_CPU_VARIANT");
    CpuCandidate* best = nullptr;
    for (auto& candidate : candidates) {
        if (!candidate.choice.refused.empty()) continue;
        if (forced != nullptr && *forced != '\0') {
            if (candidate.choice.name == forced) best = &candidate;
        } else if (best == nullptr || candidate.choice.score > best->choice.score) {
            best = &candidate;
        }
    }
    if (best == nullptr) {
        std::string seen;
        for (const auto& candidate : candidates) {
            seen += (seen.empty() ? "" : "; ") + candidate.choice.name + ": " +
                    (candidate.choice.refused.empty() ? "not asked for" : candidate.choice.refused);
        }
        const std::string wanted = forced != nullptr && *forced != '\0'
                                       ? std::string("PADDLER_CPU_VARIANT=") + forced + " is not one that runs here"
                                       : std::string("no CPU backend in ") + directory.string() + " runs on this CPU";
        throw std::runtime_error(wanted + " (" + (seen.empty() ? "none shipped" : seen) + ")");
    }
    for (auto& candidate : candidates) {
        if (&candidate != best && candidate.handle != nullptr) dlclose(candidate.handle);
    }
    best->choice.chosen = true;
    if (ggml_backend_load(best->path.c_str()) == nullptr) {
        throw std::runtime_error("ggml could not register the CPU backend " + best->path.string());
    }

    LoadedBackends loaded;
    CpuBackend& cpu = loaded.cpu;
    const std::string& name = best->choice.name;
    cpu.threadpool_new = resolve<decltype(cpu.threadpool_new)>(best->handle, "ggml_threadpool_new", name);
    cpu.threadpool_free = resolve<decltype(cpu.threadpool_free)>(best->handle, "ggml_threadpool_free", name);
    cpu.threadpool_pause = resolve<decltype(cpu.threadpool_pause)>(best->handle, "ggml_threadpool_pause", name);
    cpu.graph_plan = resolve<decltype(cpu.graph_plan)>(best->handle, "ggml_graph_plan", name);
    cpu.graph_compute = resolve<decltype(cpu.graph_compute)>(best->handle, "ggml_graph_compute", name);
#if defined(PADDLER_TINYBLAS_WRAPPED)
    cpu.tinyblas_decline =
        resolve<decltype(cpu.tinyblas_decline)>(best->handle, "paddler_tinyblas_decline", name);
    cpu.tinyblas_restore =
        resolve<decltype(cpu.tinyblas_restore)>(best->handle, "paddler_tinyblas_restore", name);
    cpu.tinyblas_products =
        resolve<decltype(cpu.tinyblas_products)>(best->handle, "paddler_tinyblas_products", name);
#endif
    cpu.variant = name;
    for (auto& candidate : candidates) loaded.choices.push_back(candidate.choice);
    return loaded;
}
#else
struct LoadedBackends {
    CpuBackend cpu;
    std::vector<CpuVariantChoice> choices;
};

LoadedBackends load_backends() {
    LoadedBackends loaded;
    CpuBackend& cpu = loaded.cpu;
    cpu.threadpool_new = &ggml_threadpool_new;
    cpu.threadpool_free = &ggml_threadpool_free;
    cpu.threadpool_pause = &ggml_threadpool_pause;
    cpu.graph_plan = &ggml_graph_plan;
    cpu.graph_compute = &ggml_graph_compute;
#if defined(PADDLER_TINYBLAS_WRAPPED)
    cpu.tinyblas_decline = &paddler_tinyblas_decline;
    cpu.tinyblas_restore = &paddler_tinyblas_restore;
    cpu.tinyblas_products = &paddler_tinyblas_products;
#endif
    cpu.variant = "built-in";
    CpuVariantChoice built_in;
    built_in.name = cpu.variant;
    built_in.chosen = true;
    loaded.choices.push_back(built_in);
    return loaded;
}
#endif

const LoadedBackends& loaded_backends() {
    // A failed load is thrown again on every call, not cached as success.
    static std::mutex mutex;
    static std::unique_ptr<LoadedBackends> loaded;
    std::lock_guard lock(mutex);
    if (loaded == nullptr) loaded = std::make_unique<LoadedBackends>(load_backends());
    return *loaded;
}

}  // namespace

const CpuBackend& cpu_backend() { return loaded_backends().cpu; }

std::vector<CpuVariantChoice> cpu_variant_choices() { return loaded_backends().choices; }

bool amx_usable() {
#if defined(__x86_64__)
    static const bool usable = cpu_reports_amx() && os_enables_tile_state() && tile_instruction_runs_in_a_child();
    return usable;
#else
    return false;
#endif
}

}  // namespace paddler
