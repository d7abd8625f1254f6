#include "isolation/observer_rings.hpp"

#include "support/errors.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmm {

using namespace isolation;

namespace {

void copy_string(char *to, std::size_t capacity, const char *from)
{
    const std::size_t n = ::strnlen(from, capacity - 1);
    std::memcpy(to, from, n);
    to[n] = '\0';
}

} // namespace

ObserverRings::ObserverRings(uint32_t rings, std::shared_ptr<std::atomic<uint64_t>> dropped)
    : rings_(std::max<uint32_t>(rings, 1)), producers_(new Producer[std::max<uint32_t>(rings, 1)]),
      dropped_(std::move(dropped))
{
    const std::size_t size = observer_shared_size(rings_);
    fd_ = ::memfd_create("vmm-observer-rings", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    // Sealed at its size: a child that kept the descriptor (it closes it
    // once mapped) could otherwise shrink it and make vmm's next record
    // write fault (SIGBUS).
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(size)) != 0 ||
        ::fcntl(fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        const int error = errno;
        if (fd_ >= 0)
            ::close(fd_);
        throw SystemError(errno_message("memfd for an isolated observer's event rings", error));
    }
    base_ = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (base_ == MAP_FAILED) {
        const int error = errno;
        ::close(fd_);
        throw SystemError(errno_message("mapping an isolated observer's event rings", error));
    }
}

ObserverRings::~ObserverRings()
{
    ::munmap(base_, observer_shared_size(rings_));
    ::close(fd_);
}

ObserverRings::Result ObserverRings::publish(const vmm_exit_event &event)
{
    if (event.vcpu >= rings_ || violated_.load(std::memory_order_relaxed)) {
        dropped_->fetch_add(1, std::memory_order_relaxed);
        return Result::dropped;
    }
    Producer &producer = producers_[event.vcpu];
    ObserverRingHeader *ring = observer_ring(base_, event.vcpu);
    // The one word the child writes: read once, and checked.
    const uint64_t tail = ring->tail.load(std::memory_order_acquire);
    if (tail < producer.last_tail || tail > producer.head) {
        bool expected = false;
        if (claimed_.compare_exchange_strong(expected, true)) {
            violation_ = fmt::format("it moved the read index of its event ring {} to {}, outside {}..{} (the "
                                     "events it had consumed .. those vmm had published)",
                                     event.vcpu, tail, producer.last_tail, producer.head);
            violated_.store(true, std::memory_order_release);
        }
        dropped_->fetch_add(1, std::memory_order_relaxed);
        return Result::violation;
    }
    producer.last_tail = tail;
    const uint64_t head = producer.head;
    ObserverControl *control = observer_control(base_);
    if (head - tail >= kObserverRingCapacity) {
        dropped_->fetch_add(1, std::memory_order_relaxed);
        // A full ring: wake it if it sleeps (it may be about to drain).
        if (control->child_sleeping.load() != 0 && control->child_sleeping.exchange(0) != 0) {
            control->wake_seq.fetch_add(1);
            ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&control->wake_seq), FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
        return Result::dropped;
    }
    ObserverRecord &r = observer_records(ring)[head % kObserverRingCapacity];
    r.address = event.address;
    r.data = event.data;
    r.rip = event.rip;
    r.guest_ns = event.guest_ns;
    r.handling_ns = event.handling_ns;
    r.vcpu = event.vcpu;
    r.reason = event.reason;
    r.space = event.space;
    r.size = event.size;
    r.count = event.count;
    r.is_write = event.is_write;
    r.cs_selector = event.cs_selector;
    r.has_device = event.device != nullptr ? 1 : 0;
    r.has_reason_name = event.reason_name != nullptr ? 1 : 0;
    r.reserved = 0;
    copy_string(r.reason_name, sizeof r.reason_name, event.reason_name != nullptr ? event.reason_name : "");
    copy_string(r.device, sizeof r.device, event.device != nullptr ? event.device : "");
    producer.head = head + 1;
    // Sequentially consistent, against the child's store of child_sleeping
    // and its load of head: one of the two sees the other.
    ring->head.store(head + 1);
    if (head + 1 - tail >= kObserverWakeThreshold && control->child_sleeping.load() != 0 &&
        control->child_sleeping.exchange(0) != 0) {
        control->wake_seq.fetch_add(1);
        ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&control->wake_seq), FUTEX_WAKE, 1, nullptr, nullptr, 0);
    }
    return Result::published;
}

std::string ObserverRings::violation() const
{
    return violated_.load(std::memory_order_acquire) ? violation_ : std::string();
}

uint64_t ObserverRings::pending() const
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < rings_; ++i) {
        const uint64_t tail = observer_ring(base_, i)->tail.load(std::memory_order_acquire);
        const uint64_t head = producers_[i].head;
        total += tail <= head ? head - tail : 0;
    }
    return total;
}

} // namespace vmm
