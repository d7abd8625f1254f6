#include "isolation/observer_drops.hpp"

#include <mutex>

namespace vmm {

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<std::atomic<uint64_t>>> counters;
};

Registry &registry()
{
    static Registry *instance = new Registry; // never destroyed: read until the process ends
    return *instance;
}

} // namespace

std::shared_ptr<std::atomic<uint64_t>> observer_drop_counter(const std::string &device)
{
    Registry &r = registry();
    const std::lock_guard lock(r.mutex);
    auto &counter = r.counters[device];
    if (!counter)
        counter = std::make_shared<std::atomic<uint64_t>>(0);
    return counter;
}

std::map<std::string, uint64_t> observer_drops()
{
    Registry &r = registry();
    const std::lock_guard lock(r.mutex);
    std::map<std::string, uint64_t> drops;
    for (const auto &[device, counter] : r.counters)
        drops[device] = counter->load(std::memory_order_relaxed);
    return drops;
}

} // namespace vmm
