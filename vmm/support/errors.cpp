#include "support/errors.hpp"

#include <cstring>

namespace vmm {

std::string errno_message(const std::string &what, int error_number)
{
    return what + ": " + std::strerror(error_number);
}

} // namespace vmm
