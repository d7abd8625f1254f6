#include "device_host/observer_drain.hpp"

#include "device_host/child_host.hpp"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#include <stdexcept>

namespace vmm::device_host {

using namespace isolation;

ObserverDrain::ObserverDrain(int fd, uint32_t rings, Deliver deliver) : rings_(rings), deliver_(std::move(deliver))
{
    void *p = ::mmap(nullptr, observer_shared_size(rings_), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED)
        throw std::runtime_error("cannot map the observer's event rings");
    base_ = p;
    thread_ = std::thread([this] { run(); });
}

ObserverDrain::~ObserverDrain()
{
    stop();
    ::munmap(base_, observer_shared_size(rings_));
}

void ObserverDrain::stop()
{
    if (!thread_.joinable())
        return;
    stopping_ = true;
    ObserverControl *control = observer_control(base_);
    control->wake_seq.fetch_add(1);
    ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&control->wake_seq), FUTEX_WAKE, 1, nullptr, nullptr, 0);
    thread_.join();
    flush();
}

uint64_t ObserverDrain::flush()
{
    const std::lock_guard lock(drain_mutex_);
    return drain();
}

uint64_t ObserverDrain::drain()
{
    uint64_t delivered = 0;
    for (uint32_t i = 0; i < rings_; ++i) {
        ObserverRingHeader *ring = observer_ring(base_, i);
        ObserverRecord *records = observer_records(ring);
        uint64_t tail = ring->tail.load(std::memory_order_relaxed);
        const uint64_t head = ring->head.load(std::memory_order_acquire);
        if (head - tail > kObserverRingCapacity) // vmm never does this; nothing read past the ring
            tail = head - kObserverRingCapacity;
        for (; tail != head; ++tail) {
            const ObserverRecord &r = records[tail % kObserverRingCapacity];
            vmm_exit_event event{};
            event.struct_size = sizeof event;
            event.vcpu = r.vcpu;
            event.reason = r.reason;
            event.space = r.space;
            event.address = r.address;
            event.size = r.size;
            event.count = r.count;
            event.data = r.data;
            event.is_write = r.is_write;
            event.cs_selector = r.cs_selector;
            event.rip = r.rip;
            event.guest_ns = r.guest_ns;
            event.handling_ns = r.handling_ns;
            event.device = r.has_device ? r.device : nullptr;
            event.reason_name = r.has_reason_name ? r.reason_name : nullptr;
            // The record's room is handed back before the call (the event was
            // copied out): vmm drops as little as it can, and an event that
            // crashes the plugin is not handed to its restarted successor.
            ring->tail.store(tail + 1, std::memory_order_release);
            // In-process the call runs on the vCPU's thread: current_vcpu says which.
            t_current_vcpu = static_cast<int32_t>(r.vcpu);
            deliver_(event);
            t_current_vcpu = -1;
            ++delivered;
        }
    }
    return delivered;
}

void ObserverDrain::run()
{
    ObserverControl *control = observer_control(base_);
    const timespec period{0, static_cast<long>(kObserverFlushMs) * 1000000L};
    while (!stopping_) {
        {
            const std::lock_guard lock(drain_mutex_);
            drain();
        }
        const uint32_t seq = control->wake_seq.load();
        control->child_sleeping.store(1);
        // Published meanwhile past the threshold: vmm may have seen the flag
        // clear and not woken us; look once more before sleeping.
        bool due = false;
        for (uint32_t i = 0; i < rings_ && !due; ++i) {
            ObserverRingHeader *ring = observer_ring(base_, i);
            due = ring->head.load() - ring->tail.load(std::memory_order_relaxed) >= kObserverWakeThreshold;
        }
        if (!due && !stopping_)
            ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&control->wake_seq), FUTEX_WAIT, seq, &period, nullptr,
                      0);
        control->child_sleeping.store(0);
    }
}

} // namespace vmm::device_host
