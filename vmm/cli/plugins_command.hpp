// `vmm plugins`: every plugin on the search path, described by its own
// descriptor, without creating a VM.
#pragma once

#include "cli/options.hpp"

namespace vmm {

// `vmm plugins [NAME] [--json]`: all plugins, or NAME's full help.
int list_plugins(const Options &options);

// Warnings about the plugin path: a --plugin-path directory that does not
// exist, and a plugin file hidden by an earlier one of the same name.
void warn_about_plugin_path(const Options &options);

} // namespace vmm
