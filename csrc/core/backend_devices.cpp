#include "backend_devices.hpp"

#include <ggml-backend.h>

#include "llama_log.hpp"

namespace paddler {

namespace {

DeviceKind kind_of(ggml_backend_dev_t device) {
    switch (ggml_backend_dev_type(device)) {
        case GGML_BACKEND_DEVICE_TYPE_CPU: return DeviceKind::Cpu;
        case GGML_BACKEND_DEVICE_TYPE_GPU: return DeviceKind::Gpu;
        case GGML_BACKEND_DEVICE_TYPE_IGPU: return DeviceKind::IntegratedGpu;
        case GGML_BACKEND_DEVICE_TYPE_ACCEL: return DeviceKind::Accelerator;
        case GGML_BACKEND_DEVICE_TYPE_META: return DeviceKind::Meta;
    }
    return DeviceKind::Accelerator;
}

}  // namespace

std::vector<BackendDevice> backend_devices() {
    // Registers the backends (and our log callback) if no engine did yet.
    init_llama_once();
    std::vector<BackendDevice> devices;
    const std::size_t count = ggml_backend_dev_count();
    devices.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        ggml_backend_dev_t device = ggml_backend_dev_get(i);
        BackendDevice entry;
        entry.name = ggml_backend_dev_name(device);
        entry.description = ggml_backend_dev_description(device);
        entry.kind = kind_of(device);
        ggml_backend_dev_memory(device, &entry.memory_free, &entry.memory_total);
        devices.push_back(std::move(entry));
    }
    return devices;
}

}  // namespace paddler
