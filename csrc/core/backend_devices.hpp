// The compute devices llama.cpp can use in this build: the CPU always, and a
// GPU for each one the compiled-in backends (CUDA, Vulkan, Metal) can see.
// The agent logs them at start, and tests on a GPU machine use the free
// memory to see that layers were really offloaded.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace paddler {

enum class DeviceKind { Cpu, Gpu, IntegratedGpu, Accelerator, Meta };

struct BackendDevice {
    std::string name;         // ggml's name, e.g. "CPU", "CUDA0", "Vulkan0"
    std::string description;  // e.g. the card's model
    DeviceKind kind = DeviceKind::Cpu;
    std::size_t memory_free = 0;   // bytes, as the backend reports them now
    std::size_t memory_total = 0;  // bytes
};

std::vector<BackendDevice> backend_devices();

}  // namespace paddler
