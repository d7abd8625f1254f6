#include "debug/all_stop.hpp"

#include "support/logging.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmm::gdb {
namespace {

constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr uint32_t kDebugException = 1;  // #DB
constexpr uint32_t kBreakpointException = 3; // #BP (KVM_GUESTDBG_USE_SW_BP, where it works)
constexpr std::size_t kCountSlots = 64;

} // namespace

AllStop::AllStop(uint32_t vcpus, RunControl &control, const GuestMemory &memory, bool wait)
    : control_(control), memory_(memory), vcpus_(vcpus)
{
    counts_.resize(vcpus);
    for (auto &per_vcpu : counts_)
        per_vcpu = std::vector<std::atomic<uint64_t>>(kCountSlots);
    if (wait) {
        stop_pending_ = true;
        event_ = StopEvent{StopEvent::Kind::initial, 0, 0, {}};
    }
}

void AllStop::set_kick(std::function<void()> kick)
{
    std::lock_guard lock(mutex_);
    kick_ = std::move(kick);
    if (kick_ && stop_pending_)
        kick_(); // a stop asked for before the vCPUs ran
}

void AllStop::set_notify(std::function<void()> notify)
{
    std::lock_guard lock(mutex_);
    notify_ = std::move(notify);
}

bool AllStop::settled_locked() const
{
    bool all_ended = true, all_parked = true;
    for (const PerVcpu &v : vcpus_) {
        all_ended = all_ended && v.ended;
        all_parked = all_parked && (v.ended || v.parked);
    }
    return all_ended || (stop_pending_ && event_ && all_parked);
}

void AllStop::notify_if_settled_locked()
{
    changed_.notify_all();
    if (settled_locked() && notify_)
        notify_();
}

void AllStop::report_locked(StopEvent event)
{
    if (!event_)
        event_ = std::move(event);
    if (!stop_pending_.exchange(true) && kick_)
        kick_();
}

void AllStop::park(Vcpu &vcpu, kvm_run &)
{
    const uint32_t index = vcpu.index();
    std::unique_lock lock(mutex_);
    PerVcpu &me = vcpus_[index];
    me.parked = true;
    notify_if_settled_locked();
    while (!control_.stop_requested()) {
        if (!stop_pending_ && me.generation != generation_ && me.action != VcpuAction::stay)
            break;
        // Bounded: a VM stop (signal, timeout, control socket) is seen within 50 ms.
        changed_.wait_for(lock, std::chrono::milliseconds(50));
    }
    me.generation = generation_;
    me.parked = false;
    me.stepping = me.action == VcpuAction::step;
    const bool step = (me.stepping || (me.action == VcpuAction::cont && !watched_.empty())) && !control_.stop_requested();
    lock.unlock();
    apply_guest_debug(vcpu, step);
}

void AllStop::apply_guest_debug(Vcpu &vcpu, bool step)
{
    kvm_guest_debug debug{};
    std::array<uint64_t, DebugRegisters::kSlots> addresses{};
    uint64_t dr7 = 0;
    {
        std::lock_guard lock(mutex_);
        addresses = points_.addresses();
        dr7 = points_.dr7();
    }
    if (dr7 != 0 || step)
        debug.control = KVM_GUESTDBG_ENABLE;
    if (dr7 != 0) {
        debug.control |= KVM_GUESTDBG_USE_HW_BP;
        for (std::size_t i = 0; i < addresses.size(); ++i)
            debug.arch.debugreg[i] = addresses[i];
        debug.arch.debugreg[7] = dr7;
    }
    if (step)
        debug.control |= KVM_GUESTDBG_SINGLESTEP;
    if (::ioctl(vcpu.fd(), KVM_SET_GUEST_DEBUG, &debug) < 0)
        logging::core().warn("vcpu {}: KVM_SET_GUEST_DEBUG failed: {}", vcpu.index(), std::strerror(errno));
}

bool AllStop::after_exit(Vcpu &vcpu, kvm_run &run)
{
    const uint32_t index = vcpu.index();
    counts_[index][std::min<std::size_t>(run.exit_reason, kCountSlots - 1)].fetch_add(1, std::memory_order_relaxed);
    if (run.exit_reason == KVM_EXIT_DEBUG) {
        const kvm_debug_exit_arch &arch = run.debug.arch;
        std::lock_guard lock(mutex_);
        StopEvent event{StopEvent::Kind::step, index, 0, {}};
        if (arch.exception == kDebugException && (arch.dr6 & kDr6SingleStep) != 0 && !vcpus_[index].stepping &&
            !watched_.empty() && !points_.triggered(arch.dr6)) {
            // Our own step for the watchpoints: did a watched value change?
            for (WatchedBytes &w : watched_) {
                uint64_t now = 0;
                if (!memory_.read(w.physical, &now, w.length) || now == w.value)
                    continue;
                w.value = now;
                report_locked(StopEvent{StopEvent::Kind::watchpoint, index, w.slot, {}});
                return true;
            }
            return false; // nothing changed: on to the next instruction
        }
        if (arch.exception == kDebugException) {
            if (auto slot = points_.triggered(arch.dr6)) {
                const PointType type = points_.slot(*slot).type;
                event.kind = type == PointType::software || type == PointType::hardware ? StopEvent::Kind::breakpoint
                                                                                         : StopEvent::Kind::watchpoint;
                event.slot = *slot;
            } else if ((arch.dr6 & kDr6SingleStep) == 0 && !vcpus_[index].stepping) {
                event.kind = StopEvent::Kind::interrupt;
            }
        } else if (arch.exception == kBreakpointException) {
            event.kind = StopEvent::Kind::breakpoint;
        }
        vcpus_[index].stepping = false;
        report_locked(std::move(event));
        return true;
    }
    if (!breaks_armed_.load(std::memory_order_relaxed))
        return false;
    std::lock_guard lock(mutex_);
    std::string detail;
    if (run.exit_reason == KVM_EXIT_IO && breaks_.io_port && run.io.port == *breaks_.io_port) {
        detail = fmt::format("vcpu {} stopped after a VM exit: port {} of {} byte(s) at {:#x}", index,
                             run.io.direction == KVM_EXIT_IO_OUT ? "write" : "read", run.io.size, run.io.port);
    } else if (run.exit_reason == KVM_EXIT_MMIO && breaks_.mmio_address && *breaks_.mmio_address >= run.mmio.phys_addr &&
               *breaks_.mmio_address < run.mmio.phys_addr + std::max<uint32_t>(run.mmio.len, 1)) {
        detail = fmt::format("vcpu {} stopped after a VM exit: MMIO {} of {} byte(s) at {:#x}", index,
                             run.mmio.is_write ? "write" : "read", run.mmio.len, run.mmio.phys_addr);
    } else if (run.exit_reason == KVM_EXIT_HLT && breaks_.hlt) {
        detail = fmt::format("vcpu {} stopped after a VM exit: HLT", index);
    } else {
        return false;
    }
    report_locked(StopEvent{StopEvent::Kind::exit_break, index, 0, std::move(detail)});
    return true;
}

void AllStop::vcpu_ended(uint32_t index)
{
    std::lock_guard lock(mutex_);
    vcpus_[index].ended = true;
    vcpus_[index].parked = false;
    notify_if_settled_locked();
}

bool AllStop::stop_all(std::chrono::milliseconds limit)
{
    std::unique_lock lock(mutex_);
    report_locked(StopEvent{StopEvent::Kind::interrupt, 0, 0, {}});
    changed_.wait_for(lock, limit, [&] { return settled_locked() || control_.stop_requested(); });
    return settled_locked() && !std::all_of(vcpus_.begin(), vcpus_.end(), [](const PerVcpu &v) { return v.ended; });
}

bool AllStop::stopped() const
{
    std::lock_guard lock(mutex_);
    return settled_locked() && !std::all_of(vcpus_.begin(), vcpus_.end(), [](const PerVcpu &v) { return v.ended; });
}

bool AllStop::all_ended() const
{
    std::lock_guard lock(mutex_);
    return std::all_of(vcpus_.begin(), vcpus_.end(), [](const PerVcpu &v) { return v.ended; });
}

std::optional<StopEvent> AllStop::event() const
{
    std::lock_guard lock(mutex_);
    return event_;
}

void AllStop::resume(const std::vector<VcpuAction> &actions)
{
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < vcpus_.size() && i < actions.size(); ++i)
        vcpus_[i].action = actions[i];
    event_.reset();
    ++generation_;
    stop_pending_ = false;
    changed_.notify_all();
}

void AllStop::set_watched(std::vector<WatchedBytes> watched)
{
    std::lock_guard lock(mutex_);
    watched_ = std::move(watched);
}

void AllStop::set_exit_breaks(const ExitBreaks &breaks)
{
    std::lock_guard lock(mutex_);
    breaks_ = breaks;
    breaks_armed_ = breaks.any();
}

ExitBreaks AllStop::exit_breaks() const
{
    std::lock_guard lock(mutex_);
    return breaks_;
}

bool AllStop::ended(uint32_t vcpu) const
{
    std::lock_guard lock(mutex_);
    return vcpu < vcpus_.size() && vcpus_[vcpu].ended;
}

std::vector<uint64_t> AllStop::exit_counts(uint32_t vcpu) const
{
    std::vector<uint64_t> out;
    if (vcpu >= counts_.size())
        return out;
    for (const auto &count : counts_[vcpu])
        out.push_back(count.load(std::memory_order_relaxed));
    return out;
}

} // namespace vmm::gdb
