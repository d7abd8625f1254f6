// The two kinds of failure the VMM reports, and the exit statuses they map to.
#pragma once

#include "support/escape.hpp"
#include "support/source_location.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace vmm {

// Exit statuses of `vmm` (a guest's debug-exit value is passed through as is).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // the guest died, a check failed, KVM failed
inline constexpr int kExitBadInput = 2;  // bad machine file, image, plugin or option
inline constexpr int kExitTimeout = 124;  // --timeout elapsed (as timeout(1) does)
inline constexpr int kExitSigint = 130;   // 128 + SIGINT
inline constexpr int kExitSigterm = 143;  // 128 + SIGTERM

// Bad input a person can fix: a machine file, an image, a plugin, an option.
// what() is the whole message, prefixed with `file:line:col: ` when known.
// Messages quote input (names, paths, keys, strings): they are escaped
// (support/escape.hpp) so that a NUL cannot cut one short nor a newline
// forge another `file:line:col` line. Escaping twice changes nothing.
class InputError : public std::runtime_error {
public:
    explicit InputError(const std::string &message) : std::runtime_error(escaped(message)) {}
    InputError(const SourceLocation &where, const std::string &message)
        : std::runtime_error(escaped(where.known() ? where.str() + ": " + message : message)), where_(where)
    {
    }
    const SourceLocation &where() const { return where_; }

private:
    SourceLocation where_;
};

// Several input errors found in one pass, reported together.
class InputErrors : public std::runtime_error {
public:
    explicit InputErrors(std::vector<InputError> errors)
        : std::runtime_error(join(errors)), errors_(std::move(errors))
    {
    }
    const std::vector<InputError> &errors() const { return errors_; }

private:
    static std::string join(const std::vector<InputError> &errors)
    {
        std::string text;
        for (const InputError &e : errors) {
            if (!text.empty())
                text += '\n';
            text += e.what();
        }
        return text;
    }
    std::vector<InputError> errors_;
};

// A failure of the host side (KVM, the OS) that is not the user's input.
class SystemError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "what: strerror(errno)" for a failed system call.
std::string errno_message(const std::string &what, int error_number);

} // namespace vmm
