// The full text of the InputError(s) a callable throws, or "" if none.
#pragma once

#include "support/errors.hpp"

#include <string>

namespace vmm::test {

template <typename F>
std::string input_error_text(F &&f)
{
    try {
        f();
    } catch (const InputErrors &e) {
        return e.what();
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

} // namespace vmm::test
