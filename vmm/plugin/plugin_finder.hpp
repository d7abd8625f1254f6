// Finding plugins by name on the search path, and loading each file once.
#pragma once

#include "plugin/plugin_library.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmm {

// The file a plugin called `name` lives in: "vmm-<name>.so".
std::string plugin_file_name(const std::string &name);

// How a plugin file becomes a PluginLibrary without loading it here (an
// isolated device's: isolation/plugin_description.hpp).
using PluginDescriber = std::function<std::shared_ptr<PluginLibrary>(const std::filesystem::path &file)>;

class PluginFinder {
public:
    explicit PluginFinder(std::vector<std::filesystem::path> search_dirs);

    const std::vector<std::filesystem::path> &search_dirs() const { return dirs_; }

    // `reference` is a plugin name ("serial"), or a path to a .so when it
    // contains '/' (relative paths against `relative_to`). Throws InputError.
    // With `describer`, the file is never dlopened in this process: the
    // describer reads its descriptor (for an isolated device).
    std::shared_ptr<PluginLibrary> load(const std::string &reference, const std::filesystem::path &relative_to,
                                        const PluginDescriber &describer = {});

    // Every plugin file on the search path, first occurrence of a name wins.
    std::vector<std::filesystem::path> list_files() const;
    // The files a first occurrence hides: {hidden file, the file that wins}.
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> shadowed_files() const;

private:
    std::optional<std::filesystem::path> locate(const std::string &name) const;
    // Plugin files in path order, each with the earlier file of its name that
    // wins over it (empty when it is the first).
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> scan() const;

    std::vector<std::filesystem::path> dirs_;
    // Weak: a plugin no device uses any more is unloaded (after a swap).
    std::map<std::filesystem::path, std::weak_ptr<PluginLibrary>> loaded_;
    std::map<std::filesystem::path, std::weak_ptr<PluginLibrary>> described_; // by a PluginDescriber
};

} // namespace vmm
