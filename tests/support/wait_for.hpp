// Waiting in a test for something another thread makes true.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace vmm::test {

// True once `condition` holds, false if it still does not after `limit`.
inline bool wait_for(const std::function<bool()> &condition,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(2000))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace vmm::test
