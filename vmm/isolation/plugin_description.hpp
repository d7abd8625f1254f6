// An isolated plugin's descriptor, read in a process of its own: vmm never
// dlopens the .so of an isolated device (that would run the plugin's static
// constructors, and its vmm_plugin_describe, inside vmm). vmm-device-host
// --describe loads it, calls vmm_plugin_describe in its sandbox and sends
// the descriptor back as one message (device_host/describe_plugin.cpp);
// vmm decodes it as hostile input (every count, stride and string bounded,
// no NUL inside a string), rebuilds the descriptor in its own memory and
// checks it exactly as it checks a loaded plugin's (PluginLibrary::described).
#pragma once

#include "isolation/wire.hpp"
#include "plugin/plugin_library.hpp"

#include <filesystem>
#include <memory>

namespace vmm {

// Starts vmm-device-host --describe `file` and waits (at most
// kDescribeLimitMs) for its description. Throws InputError naming the file
// for a missing helper, a plugin that is not one, a descriptor that fails
// the checks, a process that crashed, was killed by its sandbox, or lied.
std::shared_ptr<PluginLibrary> describe_plugin_in_child(const std::filesystem::path &file);

// The decoding half, on a received msg_description (for tests as well).
std::shared_ptr<PluginLibrary> plugin_from_description(const std::filesystem::path &file,
                                                       const isolation::Message &message);

inline constexpr int kDescribeLimitMs = 5000;

} // namespace vmm
