#include "core/sleep_control.hpp"

#include "support/logging.hpp"

#include <chrono>

namespace vmm {
namespace {

constexpr uint64_t kRflagsReserved = 0x2;
// How often a sleeping vCPU looks for a stop or a pause it was not woken
// for (both are flags of other objects): well inside the second a stop has.
constexpr std::chrono::milliseconds kPoll{20};

kvm_segment real_mode_segment(uint16_t selector, bool code)
{
    kvm_segment s{};
    s.selector = selector;
    s.base = uint64_t{selector} << 4;
    s.limit = 0xffff;
    s.type = code ? 0xb : 0x3;
    s.present = 1;
    s.s = 1;
    return s;
}

} // namespace

SleepControl::SleepControl(uint32_t vcpus, std::function<uint32_t()> waking_vector, const kvm_sregs &boot_reset)
    : waking_vector_(std::move(waking_vector)), boot_reset_(boot_reset), seen_(vcpus)
{
}

void SleepControl::set_kick(std::function<void()> kick)
{
    std::lock_guard lock(mutex_);
    kick_ = std::move(kick);
}

bool SleepControl::suspend()
{
    std::function<void()> kick;
    {
        std::lock_guard lock(mutex_);
        if (suspended_.load())
            return false;
        epoch_.fetch_add(1);
        suspended_.store(true, std::memory_order_release);
        kick = kick_;
    }
    if (kick)
        kick(); // vCPUs in KVM_RUN (an AP halted in the kernel) come out and sleep
    return true;
}

bool SleepControl::wake()
{
    {
        std::lock_guard lock(mutex_);
        if (!suspended_.load())
            return false;
        suspended_.store(false, std::memory_order_release);
        wakes_.fetch_add(1);
    }
    changed_.notify_all();
    return true;
}

bool SleepControl::sleep_pending(uint32_t vcpu) const
{
    return vcpu < seen_.size() && seen_[vcpu].load(std::memory_order_relaxed) != epoch_.load(std::memory_order_acquire);
}

void SleepControl::sleep(Vcpu &vcpu, kvm_run &run, PausePoint *pause, const RunControl &control)
{
    seen_.at(vcpu.index()).store(epoch_.load());
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, kPoll, [&] {
                return !suspended_.load() || control.stop_requested() || (pause != nullptr && pause->pause_pending());
            });
        }
        if (control.stop_requested())
            return; // the loop sees the stop
        if (pause != nullptr && pause->pause_pending()) {
            pause->checkpoint(run); // a swap while the VM sleeps
            continue;
        }
        if (!suspended_.load())
            break;
    }
    wake_state(vcpu);
}

// ACPI 6.4, 16.3.2: the OS's waking code runs in real mode at the FACS
// firmware waking vector, CS = vector >> 4 and IP = vector & 0xf. The
// application processors are in their wait-for-SIPI state.
void SleepControl::wake_state(Vcpu &vcpu)
{
    if (vcpu.index() != 0) {
        vcpu.set_mp_state(KVM_MP_STATE_INIT_RECEIVED);
        return;
    }
    const uint32_t vector = waking_vector_();
    if (vector >= 0x100000)
        logging::core().warn("vcpu 0: the FACS waking vector {:#x} is beyond real mode's 1 MiB: using its low 20 bits",
                             vector);
    kvm_sregs sregs = boot_reset_;
    const uint16_t segment = static_cast<uint16_t>((vector >> 4) & 0xffff);
    sregs.cs = real_mode_segment(segment, true);
    for (kvm_segment *s : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss})
        *s = real_mode_segment(0, false);
    vcpu.set_sregs(sregs);
    kvm_regs regs{};
    regs.rip = vector & 0xf;
    regs.rflags = kRflagsReserved;
    vcpu.set_regs(regs);
    vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
    logging::core().info("vcpu 0: woke from S3 at the FACS waking vector {:#x} ({:04x}:{:04x})", vector, segment,
                         vector & 0xf);
}

} // namespace vmm
