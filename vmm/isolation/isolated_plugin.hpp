// An isolated device's plugin, as DeviceInstance sees it: the real plugin's
// name, settings, ranges and lines, with functions that forward each call
// to its process (IsolatedDevice).
#pragma once

#include "plugin/plugin_library.hpp"

#include <memory>
#include <optional>
#include <string>

namespace vmm {

// Why `plugin` cannot run isolated, or nothing when it can.
std::optional<std::string> why_not_isolatable(const PluginLibrary &plugin);

// The proxy for `plugin` (which why_not_isolatable accepted).
std::shared_ptr<PluginLibrary> isolated_plugin(std::shared_ptr<PluginLibrary> plugin);

} // namespace vmm
