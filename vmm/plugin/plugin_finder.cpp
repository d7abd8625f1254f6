#include "plugin/plugin_finder.hpp"

#include "support/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vmm {
namespace fs = std::filesystem;

namespace {
constexpr const char *kPrefix = "vmm-";
constexpr const char *kSuffix = ".so";
} // namespace

std::string plugin_file_name(const std::string &name) { return kPrefix + name + kSuffix; }

PluginFinder::PluginFinder(std::vector<fs::path> search_dirs) : dirs_(std::move(search_dirs)) {}

std::optional<fs::path> PluginFinder::locate(const std::string &name) const
{
    std::error_code ec;
    for (const fs::path &dir : dirs_) {
        const fs::path candidate = dir / plugin_file_name(name);
        if (fs::exists(candidate, ec))
            return candidate;
    }
    return std::nullopt;
}

std::shared_ptr<PluginLibrary> PluginFinder::load(const std::string &reference, const fs::path &relative_to,
                                                  const PluginDescriber &describer)
{
    fs::path file;
    const bool is_path = reference.find('/') != std::string::npos;
    if (is_path) {
        file = fs::path(reference);
        if (file.is_relative())
            file = relative_to / file;
    } else {
        auto found = locate(reference);
        if (!found) {
            std::string searched;
            for (const fs::path &dir : dirs_)
                searched += (searched.empty() ? "" : ", ") + dir.string();
            throw InputError(fmt::format("plugin '{}' not found: no {} in the plugin path ({})", reference,
                                         plugin_file_name(reference), searched.empty() ? "empty" : searched));
        }
        file = *found;
    }
    std::error_code ec;
    const fs::path key = fs::weakly_canonical(file, ec);
    std::shared_ptr<PluginLibrary> plugin;
    auto &cache = describer ? described_ : loaded_;
    if (auto it = cache.find(ec ? file : key); it != cache.end())
        plugin = it->second.lock();
    if (plugin == nullptr) {
        plugin = describer ? describer(file) : PluginLibrary::load(file);
        cache[ec ? file : key] = plugin;
    }
    // On every lookup by name, also of a file loaded before (say by path,
    // which has no name to check).
    if (!is_path && plugin->name() != reference)
        throw InputError(fmt::format("{} declares the plugin name '{}', not '{}'", file.string(), plugin->name(),
                                     reference));
    return plugin;
}

std::vector<fs::path> PluginFinder::list_files() const
{
    std::vector<fs::path> files;
    for (const auto &[file, winner] : scan())
        if (winner.empty())
            files.push_back(file);
    return files;
}

std::vector<std::pair<fs::path, fs::path>> PluginFinder::shadowed_files() const
{
    std::vector<std::pair<fs::path, fs::path>> shadowed;
    for (const auto &[file, winner] : scan())
        if (!winner.empty())
            shadowed.emplace_back(file, winner);
    return shadowed;
}

std::vector<std::pair<fs::path, fs::path>> PluginFinder::scan() const
{
    std::vector<std::pair<fs::path, fs::path>> files; // {file, the file hiding it or empty}
    std::map<std::string, fs::path> names;
    std::error_code ec;
    for (const fs::path &dir : dirs_) {
        std::vector<fs::path> in_dir;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string file = it->path().filename().string();
            if (file.size() > 7 && file.rfind(kPrefix, 0) == 0 && file.ends_with(kSuffix))
                in_dir.push_back(it->path());
        }
        std::sort(in_dir.begin(), in_dir.end());
        for (const fs::path &path : in_dir) {
            const auto [it, first] = names.emplace(path.filename().string(), path);
            files.emplace_back(path, first ? fs::path() : it->second);
        }
    }
    return files;
}

} // namespace vmm
