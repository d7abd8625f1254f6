// The loop each vCPU thread runs: KVM_RUN, then the handler for the exit
// reason from a table, until the vCPU halts, dies, or the VM stops.
#pragma once

#include "core/exit_observers.hpp"
#include "core/io_router.hpp"
#include "core/run_control.hpp"
#include "core/user_mode_trap.hpp"
#include "core/vcpu_runtime.hpp"
#include "kvm/vcpu.hpp"

#include <linux/kvm.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vmm {

enum class VcpuEnd {
    running,
    halted,  // HLT with no irqchip: this vCPU is done
    stopped, // the VM was stopped while this vCPU ran
    fatal,   // this vCPU could not go on (see detail)
};
const char *vcpu_end_name(VcpuEnd end);

// Exit counts by reason; the last slot counts reasons beyond the table.
inline constexpr std::size_t kExitReasonSlots = 64;

// What a vCPU looked like when its loop ended.
struct VcpuOutcome {
    uint32_t index = 0;
    VcpuEnd end = VcpuEnd::running;
    uint32_t last_exit_reason = 0;
    uint64_t exits = 0;
    std::array<uint64_t, kExitReasonSlots> exits_by_reason{};
    std::string detail; // why a fatal end happened
    bool state_valid = false;
    kvm_regs regs{};
    kvm_sregs sregs{};
    // mode = "user": the exception that ended it (see user_mode_trap.hpp).
    bool user_exception = false;
    uint32_t exception_vector = 0;
    uint64_t exception_error_code = 0, exception_rip = 0, exception_cr2 = 0;
};

// Where a vCPU thread stops while the VM is paused (between two exits).
class PausePoint {
public:
    virtual ~PausePoint() = default;
    // One relaxed atomic load per loop iteration when nobody pauses.
    virtual bool pause_pending() const = 0;
    // Blocks until the pause ends (or the VM stops).
    virtual void checkpoint(kvm_run &run) = 0;
    // KVM_RUN returned EINTR: clear the kick's immediate_exit, consistently
    // with kicks, so that a kick for a pause that then timed out or ended
    // without this vCPU does not make every later KVM_RUN return at once.
    virtual void clear_kick(kvm_run &run) = 0;
    // Sets immediate_exit (a debugger's stop), under the lock kicks take:
    // other threads write it too.
    virtual void request_immediate_exit(kvm_run &run) = 0;
};

class RunControl;
class Vcpu;

// Where a vCPU sleeps while the VM is suspended (ACPI S3, core/sleep_control.hpp).
class SleepPoint {
public:
    virtual ~SleepPoint() = default;
    // One relaxed atomic load per loop iteration when nobody suspends.
    virtual bool sleep_pending(uint32_t vcpu) const = 0;
    // Blocks until the VM wakes (or stops; a pause is served meanwhile),
    // then puts the vCPU into its wake state.
    virtual void sleep(Vcpu &vcpu, kvm_run &run, PausePoint *pause, const RunControl &control) = 0;
};

// A debugger's hold on the loop (vmm/debug). Null unless --gdb is given:
// then the loop costs one pointer test per exit more than without.
class DebugHook {
public:
    virtual ~DebugHook() = default;
    // One atomic load: a debugger wants every vCPU stopped.
    virtual bool stop_pending() const = 0;
    // Blocks this vCPU at an exit boundary until the debugger resumes it
    // (or the VM stops); applies the debugger's breakpoints and stepping.
    virtual void park(Vcpu &vcpu, kvm_run &run) = 0;
    // After each handled exit: KVM_EXIT_DEBUG, and exits the debugger asked
    // to break on. True when this exit asked every vCPU to stop.
    virtual bool after_exit(Vcpu &vcpu, kvm_run &run) = 0;
    // The vCPU's loop ended (halted, stopped, fatal).
    virtual void vcpu_ended(uint32_t index) = 0;
};

struct VcpuLoopContext {
    Vcpu &vcpu;
    IoRouter &io;
    RunControl &control;
    VcpuRuntime &runtime;
    const ExitObservers &observers;
    bool sync_registers = false; // KVM_CAP_SYNC_REGS: registers arrive in kvm_run
    PausePoint *pause_point = nullptr;
    const UserModeTraps *user_mode = nullptr; // mode = "user": HLT may be the VMM's exception handler
    SleepPoint *sleep_point = nullptr; // ACPI S3; nullptr: the machine cannot sleep
    DebugHook *debug = nullptr;
};

// Runs until the vCPU's end, then captures its registers into the outcome.
VcpuOutcome run_vcpu_loop(VcpuLoopContext context);

} // namespace vmm
