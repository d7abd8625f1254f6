#include "support/paths.hpp"

#include "vmm_build_paths.hpp"

#include <cstdlib>
#include <system_error>

namespace vmm::paths {
namespace {

// Appends an existing directory unless it is already listed (an option or
// the environment may name an installed directory too).
void append_if_dir(std::vector<fs::path> &dirs, const fs::path &dir)
{
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec))
        return;
    const fs::path canonical = fs::weakly_canonical(dir, ec);
    for (const fs::path &listed : dirs) {
        std::error_code ec2;
        if (fs::weakly_canonical(listed, ec2) == canonical)
            return;
    }
    dirs.push_back(dir.lexically_normal());
}

std::vector<fs::path> from_env(const char *name)
{
    const char *value = std::getenv(name);
    return value ? split_search_path(value) : std::vector<fs::path>{};
}

} // namespace

fs::path executable_dir()
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path{} : exe.parent_path();
}

std::vector<fs::path> split_search_path(const std::string &text)
{
    std::vector<fs::path> parts;
    std::string::size_type start = 0;
    while (start <= text.size()) {
        const auto end = text.find(':', start);
        const std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!part.empty())
            parts.emplace_back(part);
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return parts;
}

std::vector<fs::path> plugin_dirs(const std::vector<std::string> &from_command_line)
{
    std::vector<fs::path> dirs;
    for (const std::string &entry : from_command_line) {
        for (const fs::path &dir : split_search_path(entry))
            dirs.push_back(dir);  // kept even if missing: the error names it
    }
    for (const fs::path &dir : from_env(kPluginPathEnv))
        dirs.push_back(dir);
    append_if_dir(dirs, executable_dir() / build_paths::kInstalledPluginDirFromBin);
    return dirs;
}

std::vector<fs::path> guest_dirs()
{
    std::vector<fs::path> dirs = from_env(kGuestPathEnv);
    append_if_dir(dirs, executable_dir() / build_paths::kInstalledGuestDirFromBin);
    return dirs;
}

std::vector<fs::path> bundled_config_dirs()
{
    std::vector<fs::path> dirs;
    append_if_dir(dirs, executable_dir() / build_paths::kInstalledConfigDirFromBin);
    return dirs;
}

std::optional<std::string> non_regular_kind(const fs::path &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    switch (status.type()) {
    case fs::file_type::regular:
    case fs::file_type::not_found:
    case fs::file_type::none: return std::nullopt;
    case fs::file_type::directory: return "a directory";
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::socket: return "a socket";
    default: return ec ? std::nullopt : std::optional<std::string>("not a regular file");
    }
}

std::optional<fs::path> resolve_config(const fs::path &given)
{
    std::error_code ec;
    if (fs::is_regular_file(given, ec))
        return given;
    std::vector<fs::path> candidates{given};
    if (!given.is_absolute()) {
        for (const fs::path &dir : bundled_config_dirs())
            candidates.push_back(dir / given);
    }
    for (const fs::path &candidate : candidates) {
        if (fs::is_regular_file(candidate, ec))
            return candidate;
    }
    for (const fs::path &candidate : candidates) {
        if (non_regular_kind(candidate))
            return candidate; // load_machine_file says what it is
    }
    return std::nullopt;
}

} // namespace vmm::paths
