// The bounds within which vmm reads a plugin's descriptor. One set for the
// three places that walk one: the checks of a loaded plugin
// (plugin_library.cpp), and, for an isolated plugin, the process that sends
// its descriptor (device_host/describe_plugin.cpp) and vmm's side that
// rebuilds it (isolation/plugin_description.cpp), so that what the sender
// leaves out is exactly what the checks would have refused.
#pragma once

#include <vmm/plugin_abi.h>

#include <cstddef>
#include <cstdint>

namespace vmm {

// The smallest descriptor any 1.x plugin may hand us: the 1.0 layout.
inline constexpr uint32_t kMinDescriptorSize = 88;
// The same for the elements of its arrays of config keys, default regions
// and (1.4) default interrupt lines.
inline constexpr uint32_t kMinConfigKeySize = 32;
inline constexpr uint32_t kMinRegionDeclSize = 24;
inline constexpr uint32_t kMinIrqDeclSize = 16;

// The most elements of each array, and of a key's choices (ABI 1.6).
inline constexpr uint32_t kMaxConfigKeys = 1024;
inline constexpr uint32_t kMaxDefaultRegions = 64;
inline constexpr uint32_t kMaxDefaultIrqs = 64;
inline constexpr uint32_t kMaxKeyChoices = 64;
// A plugin string is terminated within this many bytes.
inline constexpr uint32_t kMaxPluginString = 4096;

// The struct_size of one element of a plugin's array, which is also the
// stride to the next: at least the 1.0 layout's size, 8-byte aligned (every
// such struct holds pointers or 64-bit fields) and not absurd, so that a
// corrupt value cannot walk the host far outside the plugin's array.
inline constexpr uint32_t kMaxStride = 4096;
constexpr bool usable_stride(uint32_t size, uint32_t min_size)
{
    return size >= min_size && size <= kMaxStride && size % 8 == 0;
}

// ABI 1.4's interrupt lines are read only from a descriptor this long.
inline constexpr std::size_t kIrqFieldsEnd = offsetof(vmm_plugin_descriptor, default_irqs) + sizeof(void *);

} // namespace vmm
