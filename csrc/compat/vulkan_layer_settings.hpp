// Included first into ggml's Vulkan backend (CMakeLists.txt) so that it builds
// against the Vulkan headers of Debian 12 (1.3.239), which the Vulkan wheel is
// built with. ggml asks the validation layer for best-practice checks through
// VK_EXT_layer_settings, which came with Vulkan-Headers 1.3.261; with older
// headers its types are declared here, as the extension defines them. With
// newer headers this file declares nothing.
//
// ggml chains the settings into every instance it creates; Vulkan
// implementations skip a structure in a pNext chain that they do not know,
// and ggml enables the extension only where the layer offers it.
#pragma once

#include <vulkan/vulkan_core.h>

#include <cstdint>
#include <vector>

#if VK_HEADER_VERSION < 261
namespace vk {

enum class LayerSettingTypeEXT : std::int32_t {
    eBool32 = 0,
    eInt32 = 1,
    eInt64 = 2,
    eUint32 = 3,
    eUint64 = 4,
    eFloat32 = 5,
    eFloat64 = 6,
    eString = 7,
};

struct LayerSettingEXT {
    const char* pLayerName;
    const char* pSettingName;
    LayerSettingTypeEXT type;
    std::uint32_t valueCount;
    const void* pValues;
};

struct LayerSettingsCreateInfoEXT {
    // VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT
    VkStructureType sType = static_cast<VkStructureType>(1000496000);
    const void* pNext = nullptr;
    std::uint32_t settingCount = 0;
    const LayerSettingEXT* pSettings = nullptr;

    explicit LayerSettingsCreateInfoEXT(const std::vector<LayerSettingEXT>& settings)
        : settingCount(static_cast<std::uint32_t>(settings.size())), pSettings(settings.data()) {}
};

}  // namespace vk
#endif
