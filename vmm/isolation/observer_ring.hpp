// The shared memory an isolated exit observer (profiler, tracer) receives
// its events through, laid out for both sides (vmm writes, vmm-device-host
// reads). One memfd: a control block, then one ring per vCPU.
//
// Each ring has a single producer, its vCPU's thread in vmm, which writes a
// fixed-size record and publishes it by advancing `head`; and a single
// consumer, the child's drain thread, which advances `tail` once it has
// handed a record to the plugin. No system call per event: the child sleeps
// on `wake_seq` with a timeout (the periodic flush) and vmm wakes it early
// only when it sleeps and a ring holds kObserverWakeThreshold records. A
// full ring never blocks the vCPU: the event is dropped and counted by vmm.
//
// vmm never reads a record back, and keeps its own copy of every head: the
// only word it reads from the child is `tail`, which it checks (it may only
// move forward, and never past vmm's head) before trusting it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace vmm::isolation {

// Records per vCPU ring (a power of two), and the fill at which vmm wakes a
// sleeping child. At ~100,000 exits a second per vCPU (one exit ~9 us on
// this host) a ring holds ~40 ms, four times the child's periodic flush.
inline constexpr uint64_t kObserverRingCapacity = 4096;
inline constexpr uint64_t kObserverWakeThreshold = kObserverRingCapacity / 4;
// The child drains every ring at least this often, woken or not.
inline constexpr uint32_t kObserverFlushMs = 10;

// Channel messages (isolation/channel.hpp's MessageType numbering; numbers
// of their own, away from the others), vmm -> child, each answered by
// msg_reply: the ring count with the rings' memfd, after create (and after a
// restarted child's realize); and deliver every published event now, before
// destroy (the reply's value: how many were delivered).
inline constexpr uint32_t msg_observer_rings = 60;
inline constexpr uint32_t msg_observer_flush = 61;

// One vmm_exit_event, flattened: the two strings copied in.
struct ObserverRecord {
    uint64_t address;
    uint64_t data;
    uint64_t rip;
    uint64_t guest_ns;
    uint64_t handling_ns;
    uint32_t vcpu;
    uint32_t reason;
    uint32_t space;
    uint32_t size;
    uint32_t count;
    uint32_t is_write;
    uint16_t cs_selector;
    uint8_t has_device; // 0: event.device was NULL
    uint8_t has_reason_name;
    uint32_t reserved;
    char reason_name[24]; // NUL-terminated (exit reason labels are short)
    char device[96];      // NUL-terminated; instance names are 1-64 characters
};
static_assert(sizeof(ObserverRecord) == 192);

struct alignas(64) ObserverControl {
    std::atomic<uint32_t> wake_seq;       // the futex word vmm bumps to wake the child
    std::atomic<uint32_t> child_sleeping; // set by the child before it sleeps
};

struct alignas(64) ObserverRingHeader {
    alignas(64) std::atomic<uint64_t> head; // records published (vmm writes)
    alignas(64) std::atomic<uint64_t> tail; // records consumed (the child writes)
};
static_assert(sizeof(ObserverRingHeader) == 128);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

inline constexpr std::size_t kObserverRingBytes =
    sizeof(ObserverRingHeader) + kObserverRingCapacity * sizeof(ObserverRecord);

inline std::size_t observer_shared_size(uint32_t rings)
{
    return sizeof(ObserverControl) + static_cast<std::size_t>(rings) * kObserverRingBytes;
}

// Where each part lies in a mapping of observer_shared_size(rings) bytes.
inline ObserverControl *observer_control(void *base) { return static_cast<ObserverControl *>(base); }
inline ObserverRingHeader *observer_ring(void *base, uint32_t ring)
{
    return reinterpret_cast<ObserverRingHeader *>(static_cast<uint8_t *>(base) + sizeof(ObserverControl) +
                                                  static_cast<std::size_t>(ring) * kObserverRingBytes);
}
inline ObserverRecord *observer_records(ObserverRingHeader *ring)
{
    return reinterpret_cast<ObserverRecord *>(reinterpret_cast<uint8_t *>(ring) + sizeof(ObserverRingHeader));
}

} // namespace vmm::isolation
