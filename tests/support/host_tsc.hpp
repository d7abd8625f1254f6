// The host's TSC rate, for guests that time things with RDTSC (KVM gives
// the guest the host's TSC rate here).
#pragma once

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace vmm::test {

// The host's TSC rate in Hz: TSC cycles across ~200 ms of steady_clock, the
// median of three tries (a try the scheduler preempted between the two
// clock reads is the one that is off).
inline double host_tsc_hz()
{
    std::vector<double> rates;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const uint64_t c0 = __rdtsc();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const uint64_t c1 = __rdtsc();
        const auto t1 = std::chrono::steady_clock::now();
        rates.push_back(static_cast<double>(c1 - c0) / std::chrono::duration<double>(t1 - t0).count());
    }
    std::sort(rates.begin(), rates.end());
    return rates[1];
}

} // namespace vmm::test
