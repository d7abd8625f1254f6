// vmm's side of an isolated observer's event rings (observer_ring.hpp):
// the memfd, and the producer each vCPU thread runs on its exit path.
// publish() makes no system call unless the child sleeps and the ring has
// reached the wake threshold; a full ring drops the event and counts it.
#pragma once

#include "isolation/observer_ring.hpp"

#include <vmm/plugin_abi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vmm {

class ObserverRings {
public:
    // One ring per vCPU (`rings` >= 1); throws SystemError when the memfd
    // cannot be made. `dropped` receives the count of dropped events.
    ObserverRings(uint32_t rings, std::shared_ptr<std::atomic<uint64_t>> dropped);
    ~ObserverRings();
    ObserverRings(const ObserverRings &) = delete;
    ObserverRings &operator=(const ObserverRings &) = delete;

    enum class Result { published, dropped, violation };
    // On the vCPU's thread (one producer per ring: event.vcpu's). A
    // violation (the child moved its read index where it cannot be) is
    // described by violation(); the caller treats the child as crashed.
    Result publish(const vmm_exit_event &event);
    std::string violation() const;

    // The memfd, to pass to the child (still owned here).
    int fd() const { return fd_; }
    uint32_t ring_count() const { return rings_; }
    uint64_t dropped() const { return dropped_->load(std::memory_order_relaxed); }
    // Events published and not yet consumed, as the child's indices say now.
    uint64_t pending() const;

private:
    // vmm's own view of each ring, never read from shared memory.
    struct alignas(64) Producer {
        uint64_t head = 0;
        uint64_t last_tail = 0;
    };
    uint32_t rings_;
    int fd_ = -1;
    void *base_ = nullptr;
    std::unique_ptr<Producer[]> producers_;
    std::shared_ptr<std::atomic<uint64_t>> dropped_;
    std::atomic<bool> claimed_{false}; // a vCPU is writing violation_
    std::atomic<bool> violated_{false};
    std::string violation_; // written once, before violated_ is set
};

} // namespace vmm
