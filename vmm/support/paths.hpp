// Where the VMM looks for machine files, plugins and guest images.
//
// Each search path is ordered: what the user said (an option, then an
// environment variable), then where `cmake --install` put things relative to
// the running executable (the build tree has the same layout).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vmm::paths {

namespace fs = std::filesystem;

inline constexpr const char *kPluginPathEnv = "VMM_PLUGIN_PATH";
inline constexpr const char *kGuestPathEnv = "VMM_GUEST_PATH";

fs::path executable_dir();

// Split "a:b:c" into its non-empty parts.
std::vector<fs::path> split_search_path(const std::string &text);

std::vector<fs::path> plugin_dirs(const std::vector<std::string> &from_command_line);
std::vector<fs::path> guest_dirs();
std::vector<fs::path> bundled_config_dirs();

// What `path` is when it exists but is not a regular file ("a directory",
// "a FIFO (named pipe)", "a character device", ...), from stat alone (a
// FIFO is never opened: that would block); nothing for a regular file or
// one that does not exist.
std::optional<std::string> non_regular_kind(const fs::path &path);

// `--config PATH`: as given (relative to the working directory), then
// relative to each bundled configs directory. When no regular file is
// found but something else is (a directory, a FIFO, a device), that is
// returned, for the loader to say what it is.
std::optional<fs::path> resolve_config(const fs::path &given);

} // namespace vmm::paths
