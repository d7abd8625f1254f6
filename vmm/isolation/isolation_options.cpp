#include "isolation/isolation_options.hpp"

#include "support/errors.hpp"
#include "support/paths.hpp"
#include "vmm_build_paths.hpp"

#include <unistd.h>

#include <cstdlib>

namespace vmm {

const char *on_crash_name(OnCrash policy)
{
    switch (policy) {
    case OnCrash::stop: return "stop";
    case OnCrash::detach: return "detach";
    case OnCrash::restart: return "restart";
    }
    return "?";
}

std::filesystem::path find_device_host()
{
    namespace fs = std::filesystem;
    constexpr const char *kName = "vmm-device-host";
    if (const char *given = std::getenv("VMM_DEVICE_HOST"); given != nullptr && *given != '\0') {
        if (::access(given, X_OK) == 0 && fs::is_regular_file(given))
            return given;
        throw InputError(std::string("the isolated-device helper $VMM_DEVICE_HOST = ") + given +
                         " is not an executable file");
    }
    const std::vector<fs::path> candidates = {
        paths::executable_dir() / paths::build_paths::kInstalledPluginDirFromBin / kName,
        fs::path(paths::build_paths::kBuildPluginDir) / kName,
    };
    for (const fs::path &candidate : candidates) {
        std::error_code error;
        if (fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    throw InputError(std::string("the isolated-device helper ") + kName + " was not found (looked at " +
                     candidates[0].string() + " and " + candidates[1].string() + ")");
}

} // namespace vmm
