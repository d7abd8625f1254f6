#include "isolation/child_environment.hpp"

#include <array>
#include <string>
#include <string_view>

extern char **environ;

namespace vmm::isolation {
namespace {

constexpr std::string_view kSandboxed =
    "symbolize=0:detect_leaks=0:handle_segv=0:handle_abort=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";

} // namespace

std::vector<std::string> child_environment(const std::vector<std::string> &environment)
{
    std::array<std::string_view, 3> names = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"};
    // ThreadSanitizer sleeps a second in exit() by default (for other
    // threads' reports): longer than vmm waits for an access to be answered.
    std::array<std::string, 3> additions = {std::string(kSandboxed), std::string(kSandboxed),
                                            std::string(kSandboxed) + ":atexit_sleep_ms=0"};
    std::array<bool, 3> seen = {};
    std::vector<std::string> result;
    for (const std::string &entry : environment) {
        result.push_back(entry);
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (entry.size() > names[i].size() && entry.compare(0, names[i].size(), names[i]) == 0 &&
                entry[names[i].size()] == '=') {
                seen[i] = true;
                if (entry.size() > names[i].size() + 1)
                    result.back() += ':';
                result.back() += additions[i];
            }
        }
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!seen[i])
            result.push_back(std::string(names[i]) + "=" + additions[i]);
    }
    return result;
}

std::vector<std::string> child_environment()
{
    std::vector<std::string> environment;
    for (char **entry = environ; *entry != nullptr; ++entry)
        environment.emplace_back(*entry);
    return child_environment(environment);
}

} // namespace vmm::isolation
