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
};

// Runs until the vCPU's end, then captures its registers into the outcome.
VcpuOutcome run_vcpu_loop(VcpuLoopContext context);

} // namespace vmm
