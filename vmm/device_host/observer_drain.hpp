// The child's side of an isolated observer's event rings
// (isolation/observer_ring.hpp): a thread that sleeps until vmm wakes it
// (a ring reached the threshold) or the periodic flush is due, then hands
// every published record to the plugin's observe_exit, ring by ring, in
// each vCPU's order.
#pragma once

#include "isolation/observer_ring.hpp"

#include <vmm/plugin_abi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace vmm::device_host {

class ObserverDrain {
public:
    using Deliver = std::function<void(const vmm_exit_event &)>;
    // Maps `fd` (taken: closed here) holding `rings` rings and starts the
    // thread. Throws std::runtime_error when it cannot be mapped.
    ObserverDrain(int fd, uint32_t rings, Deliver deliver);
    ~ObserverDrain(); // stop()
    ObserverDrain(const ObserverDrain &) = delete;
    ObserverDrain &operator=(const ObserverDrain &) = delete;

    // Deliver everything published so far (vmm asks before destroy, once
    // its vCPUs stopped). Returns the records delivered.
    uint64_t flush();
    // End the thread (a last flush included).
    void stop();

private:
    void run();
    uint64_t drain(); // callers hold drain_mutex_

    void *base_ = nullptr;
    uint32_t rings_;
    Deliver deliver_;
    std::mutex drain_mutex_; // one consumer at a time: the thread or flush()
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

} // namespace vmm::device_host
