// Calling into plugin code. The ABI forbids exceptions across it, but a
// plugin (a C++ one not built with the SDK's trampolines) may break that
// rule; an exception must then end at the call, not kill the VMM.
#pragma once

#include <cstring>
#include <exception>
#include <optional>
#include <string>

namespace vmm {

// The words every message about such an exception uses.
inline constexpr const char *kThrewAcrossAbi = "threw an exception across the C ABI";

// Runs `call` (a call into plugin code) and returns what escaped it, if
// anything: the exception's message, copied while the plugin's library is
// certainly still loaded (the exception object, its type and its what() may
// all live in that library), and the exception itself ended here.
template <typename Call>
std::optional<std::string> call_plugin(Call &&call) noexcept
{
    const auto copy = [](const char *what) noexcept -> std::string {
        try {
            return what == nullptr ? std::string("(no message)") : std::string(what, ::strnlen(what, 1024));
        } catch (...) {
            return {}; // out of memory: no message
        }
    };
    try {
        call();
        return std::nullopt;
    } catch (const std::exception &e) {
        return copy(e.what());
    } catch (...) {
        return copy("an exception that is not a std::exception");
    }
}

} // namespace vmm
