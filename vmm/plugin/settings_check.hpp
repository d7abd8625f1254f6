// A device's settings against the keys its plugin declares: unknown keys,
// wrong types, missing required keys. Used when a machine is planned and
// when a device is swapped to another plugin.
#pragma once

#include "config/machine_spec.hpp"
#include "plugin/plugin_library.hpp"
#include "support/errors.hpp"

#include <string>
#include <vector>

namespace vmm {

// `where` locates the device (for missing keys); each setting carries its own.
std::vector<InputError> check_settings(const std::string &device, const SourceLocation &where,
                                       const std::vector<Setting> &settings, const PluginLibrary &plugin);

} // namespace vmm
