#include "core/vcpu_group.hpp"

#include "core/exit_reasons.hpp"
#include "core/vcpu_report.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <pthread.h>
#include <unistd.h>
#include <signal.h>

#include <fmt/format.h>

namespace vmm {
namespace {

constexpr int kKickSignal = SIGUSR1;

void install_kick_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = [](int) {}; // only there to interrupt KVM_RUN
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: KVM_RUN must return EINTR
        ::sigaction(kKickSignal, &action, nullptr);
    });
}

} // namespace

VcpuGroup::VcpuGroup(std::vector<std::unique_ptr<Vcpu>> &vcpus, std::vector<std::unique_ptr<VcpuRuntime>> &runtimes,
                     IoRouter &io, RunControl &control, const ExitObservers &observers, bool sync_registers,
                     const UserModeTraps *user_mode, SleepPoint *sleep_point, DebugHook *debug)
    : vcpus_(vcpus), runtimes_(runtimes), io_(io), control_(control), observers_(observers),
      sync_registers_(sync_registers), user_mode_(user_mode), sleep_point_(sleep_point), debug_(debug),
      active_(vcpus.size(), false), kick_targets_(vcpus.size()), outcomes_(vcpus.size())
{
    install_kick_handler();
    control_.set_kick([this] { kick_all(); });
}

VcpuGroup::~VcpuGroup()
{
    control_.set_kick(nullptr);
    for (std::thread &thread : threads_) {
        if (thread.joinable())
            thread.join();
    }
}

void VcpuGroup::kick_locked()
{
    for (std::size_t i = 0; i < active_.size(); ++i) {
        if (!active_[i])
            continue;
        vcpus_[i]->run_page()->immediate_exit = 1;
        ::pthread_kill(kick_targets_[i], kKickSignal);
    }
    changed_.notify_all(); // paused vCPUs must see a stop
}

void VcpuGroup::kick_all()
{
    std::lock_guard lock(mutex_);
    kick_locked();
}

bool VcpuGroup::pause(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    if (pause_requested_ || control_.stop_requested())
        return false;
    pause_requested_ = true;
    pause_pending_ = true;
    kick_locked(); // immediate_exit completes any pending I/O, then returns
    const bool all_paused =
        changed_.wait_for(lock, timeout, [&] { return paused_ == running_ || control_.stop_requested(); });
    if (!all_paused || control_.stop_requested()) {
        pause_requested_ = false;
        pause_pending_ = false;
        changed_.notify_all();
        return false;
    }
    return true;
}

void VcpuGroup::resume()
{
    std::lock_guard lock(mutex_);
    pause_requested_ = false;
    pause_pending_ = false;
    changed_.notify_all();
}

void VcpuGroup::checkpoint(kvm_run &run)
{
    std::unique_lock lock(mutex_);
    ++paused_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !pause_requested_ || control_.stop_requested(); });
    --paused_;
    run.immediate_exit = 0; // the kick's, or the next KVM_RUN would return at once
}

void VcpuGroup::clear_kick(kvm_run &run)
{
    // Under the lock kicks take: a kick either comes later (and sets
    // immediate_exit again) or its flags are visible to this vCPU's next
    // look at them, at the top of its loop.
    std::lock_guard lock(mutex_);
    run.immediate_exit = 0;
}

void VcpuGroup::request_immediate_exit(kvm_run &run)
{
    std::lock_guard lock(mutex_);
    run.immediate_exit = 1;
}

void VcpuGroup::thread_main(std::size_t slot)
{
    VcpuRuntime &runtime = *runtimes_[slot];
    runtime.thread_id = static_cast<int64_t>(::gettid());
    runtime.state = VMM_VCPU_RUNNING;
    set_current_vcpu_runtime(&runtime);
    VcpuOutcome outcome;
    try {
        outcome =
            run_vcpu_loop(VcpuLoopContext{*vcpus_[slot], io_, control_, runtime, observers_, sync_registers_, this,
                                           user_mode_, sleep_point_, debug_});
    } catch (const std::exception &e) {
        // A failed ioctl (say KVM_GET_REGS) must end this vCPU as a fatal
        // exit, not take the process down from a thread.
        outcome = VcpuOutcome{};
        outcome.index = static_cast<uint32_t>(slot);
        outcome.exits = runtime.exits.load();
        outcome.end = VcpuEnd::fatal;
        outcome.detail = e.what();
    }
    set_current_vcpu_runtime(nullptr);
    if (debug_ != nullptr)
        debug_->vcpu_ended(static_cast<uint32_t>(slot));
    runtime.state = outcome.end == VcpuEnd::halted  ? VMM_VCPU_HALTED
                    : outcome.end == VcpuEnd::fatal ? VMM_VCPU_FAILED
                                                    : VMM_VCPU_STOPPED;

    if (outcome.end == VcpuEnd::fatal) {
        std::string report = fmt::format("vcpu {}: fatal exit: {} (last exit reason {}, {} exits)", outcome.index,
                                         outcome.detail, exit_reason_name(outcome.last_exit_reason), outcome.exits);
        if (outcome.state_valid)
            report += "\n" + format_registers(outcome.regs, outcome.sregs);
        logging::core().error("{}", report);
        control_.request_stop(StopCause::fatal, kExitFailure, fmt::format("vcpu {}: {}", outcome.index, outcome.detail));
    }

    bool last_to_halt = false;
    {
        std::lock_guard lock(mutex_);
        active_[slot] = false;
        outcomes_[slot] = std::move(outcome);
        last_to_halt = --running_ == 0 && outcomes_[slot].end == VcpuEnd::halted;
        changed_.notify_all(); // a pause waits for running vCPUs only
    }
    if (last_to_halt)
        control_.request_stop(StopCause::all_halted, kExitOk, "every vCPU halted");
}

std::vector<VcpuOutcome> VcpuGroup::run()
{
    if (vcpus_.empty())
        return {};
    std::string start_failure;
    {
        // Hold the lock while starting threads so a kick from an early stop
        // sees a consistent view of which threads are active. A kick of
        // vCPU 0 signals this thread: it leaves KVM_RUN as any vCPU thread
        // does, and a kick sent before vCPU 0 ends is delivered before it
        // can take the lock to end, so none reaches the code after.
        std::lock_guard lock(mutex_);
        running_ = 1;
        kick_targets_[0] = ::pthread_self();
        active_[0] = true;
        for (std::size_t i = 1; i < vcpus_.size(); ++i) {
            try {
                threads_.emplace_back([this, i] { thread_main(i); });
            } catch (const std::system_error &e) {
                for (std::size_t j = i; j < vcpus_.size(); ++j) {
                    outcomes_[j].index = static_cast<uint32_t>(j);
                    outcomes_[j].end = VcpuEnd::fatal;
                    outcomes_[j].detail = fmt::format("its thread could not start: {}", e.what());
                }
                start_failure = fmt::format("cannot start the thread of vcpu {}: {}", i, e.what());
                break;
            }
            kick_targets_[i] = threads_.back().native_handle();
            active_[i] = true;
            ++running_;
        }
    }
    // The vCPUs already started must not run on unattended. Outside the lock:
    // the stop kicks them, which takes it; vCPU 0 then ends at its first look.
    if (!start_failure.empty())
        control_.request_stop(StopCause::fatal, kExitFailure, start_failure);
    thread_main(0);
    for (std::thread &thread : threads_)
        thread.join();
    // Under the lock: the vCPUs end as soon as they see a stop's flag, which
    // is set before its kick runs, so that kick (on the control or signal
    // thread) may still be reading the targets in kick_locked().
    std::lock_guard lock(mutex_);
    threads_.clear();
    return outcomes_;
}

} // namespace vmm
