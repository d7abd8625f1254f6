#include "config/isolation_options.hpp"

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
    // Next to the plugins, relative to the binary: the build tree has the
    // installed layout.
    fs::path candidate = paths::executable_dir() / paths::build_paths::kInstalledPluginDirFromBin / kName;
    std::error_code error;
    if (fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    throw InputError(std::string("the isolated-device helper ") + kName + " was not found (looked at " +
                     candidate.lexically_normal().string() + ")");
}

} // namespace vmm
