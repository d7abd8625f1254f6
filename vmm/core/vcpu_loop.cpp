#include "core/vcpu_loop.hpp"

#include "core/exit_reasons.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cstring>

namespace vmm {
namespace {

// What a handler tells the loop.
enum class Next { resume, halt, fatal };

struct ExitState {
    VcpuLoopContext &context;
    kvm_run &run;
    std::string detail; // set by a handler that returns Next::fatal
    UserTrap trap;      // set by handle_hlt in user mode
};

using ExitHandler = Next (*)(ExitState &);

Next handle_io(ExitState &s)
{
    const auto &io = s.run.io;
    const bool is_write = io.direction == KVM_EXIT_IO_OUT;
    if (io.size != 1 && io.size != 2 && io.size != 4) {
        s.detail = fmt::format("port I/O of unsupported size {} at port {:#x}", io.size, io.port);
        return Next::fatal;
    }
    // String I/O (rep outs/ins) hands us `count` elements in a row.
    const uint64_t bytes = uint64_t{io.size} * io.count;
    if (io.data_offset > s.context.vcpu.run_page_size() ||
        bytes > s.context.vcpu.run_page_size() - io.data_offset) {
        s.detail = fmt::format("port I/O data ({} x {} bytes at offset {:#x}) lies outside the kvm_run page",
                               io.count, io.size, io.data_offset);
        return Next::fatal;
    }
    uint8_t *data = reinterpret_cast<uint8_t *>(&s.run) + io.data_offset;
    for (uint32_t i = 0; i < io.count; ++i) {
        if (!s.context.io.access(Space::pio, io.port, data + uint64_t{i} * io.size, io.size, is_write)) {
            s.detail = fmt::format("unhandled port {} of {} byte(s) at {:#x} (strict machine)",
                                   is_write ? "write" : "read", io.size, io.port);
            return Next::fatal;
        }
    }
    return Next::resume;
}

Next handle_mmio(ExitState &s)
{
    auto &mmio = s.run.mmio;
    if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
        s.detail = fmt::format("MMIO access of unsupported length {} at {:#x}", mmio.len, mmio.phys_addr);
        return Next::fatal;
    }
    if (!s.context.io.access(Space::mmio, mmio.phys_addr, mmio.data, mmio.len, mmio.is_write != 0)) {
        s.detail = fmt::format("unhandled MMIO {} of {} byte(s) at {:#x} (strict machine)",
                               mmio.is_write ? "write" : "read", mmio.len, mmio.phys_addr);
        return Next::fatal;
    }
    return Next::resume;
}

Next handle_hlt(ExitState &s)
{
    if (s.context.user_mode == nullptr)
        return Next::halt;
    s.trap = take_user_trap(*s.context.user_mode, s.context.vcpu);
    if (s.trap.kind != UserTrap::Kind::exception)
        return Next::halt; // the guest's HLT at CPL 3, or one at CPL 0 outside the handler
    s.detail = s.trap.detail;
    return Next::fatal;
}

Next handle_resume(ExitState &) { return Next::resume; }

Next handle_shutdown(ExitState &s)
{
    s.detail = "the guest shut down the vCPU (KVM_EXIT_SHUTDOWN: a triple fault)";
    return Next::fatal;
}

Next handle_fail_entry(ExitState &s)
{
    s.detail = fmt::format("KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, hardware reason {:#x}, cpu {})",
                           s.run.fail_entry.hardware_entry_failure_reason, s.run.fail_entry.cpu);
    return Next::fatal;
}

Next handle_internal_error(ExitState &s)
{
    const auto &internal = s.run.internal;
    std::string data;
    for (uint32_t i = 0; i < internal.ndata && i < std::size(internal.data); ++i)
        data += fmt::format(" {:#x}", internal.data[i]);
    const char *kind = internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)"
                       : internal.suberror == KVM_INTERNAL_ERROR_SIMUL_EX ? " (exception while delivering an exception)"
                                                                           : "";
    s.detail = fmt::format("KVM internal error, suberror {}{}{}{}", internal.suberror, kind, data.empty() ? "" : ", data:",
                           data);
    return Next::fatal;
}

Next handle_system_event(ExitState &s)
{
    const uint32_t type = s.run.system_event.type;
    if (type == KVM_SYSTEM_EVENT_SHUTDOWN) {
        s.context.control.request_stop(StopCause::guest_request, kExitOk, "the guest powered off");
        return Next::resume; // the loop sees the stop and ends
    }
    s.detail = fmt::format("system event {} ({}) is not supported", type,
                           type == KVM_SYSTEM_EVENT_RESET ? "reset" : type == KVM_SYSTEM_EVENT_CRASH ? "crash" : "other");
    return Next::fatal;
}

// Single steps and debug-register hits: the debugger's (after_exit reports
// them); without one, KVM never sends these.
Next handle_debug(ExitState &s)
{
    if (s.context.debug != nullptr)
        return Next::resume;
    s.detail = "unexpected debug exit (no debugger attached)";
    return Next::fatal;
}

Next handle_unknown(ExitState &s)
{
    s.detail = fmt::format("unexpected exit reason {}", exit_reason_name(s.run.exit_reason));
    return Next::fatal;
}

// The dispatch table, indexed by exit reason; holes are "unexpected".
constexpr std::size_t kMaxReason = 64;
constexpr std::array<ExitHandler, kMaxReason> make_table()
{
    std::array<ExitHandler, kMaxReason> table{};
    for (auto &entry : table)
        entry = &handle_unknown;
    table[KVM_EXIT_IO] = &handle_io;
    table[KVM_EXIT_MMIO] = &handle_mmio;
    table[KVM_EXIT_HLT] = &handle_hlt;
    table[KVM_EXIT_SHUTDOWN] = &handle_shutdown;
    table[KVM_EXIT_FAIL_ENTRY] = &handle_fail_entry;
    table[KVM_EXIT_INTERNAL_ERROR] = &handle_internal_error;
    table[KVM_EXIT_SYSTEM_EVENT] = &handle_system_event;
    table[KVM_EXIT_INTR] = &handle_resume;
    table[KVM_EXIT_DEBUG] = &handle_debug;
    table[KVM_EXIT_IRQ_WINDOW_OPEN] = &handle_resume;
    return table;
}
constexpr std::array<ExitHandler, kMaxReason> kHandlers = make_table();

void capture_state(Vcpu &vcpu, VcpuOutcome &outcome)
{
    try {
        outcome.regs = vcpu.regs();
        outcome.sregs = vcpu.sregs();
        outcome.state_valid = true;
    } catch (const SystemError &) {
        outcome.state_valid = false;
    }
}

} // namespace

const char *vcpu_end_name(VcpuEnd end)
{
    switch (end) {
    case VcpuEnd::running: return "running";
    case VcpuEnd::halted: return "halted";
    case VcpuEnd::stopped: return "stopped";
    case VcpuEnd::fatal: return "fatal";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

uint64_t nanoseconds(Clock::duration d)
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// The registers of the exit just taken: from kvm_run when KVM syncs them,
// else with ioctls (correct, slower).
void exit_registers(VcpuLoopContext &context, kvm_regs &regs, uint16_t &cs)
{
    const kvm_run &run = *context.vcpu.run_page();
    if (context.sync_registers) {
        regs = run.s.regs.regs;
        cs = run.s.regs.sregs.cs.selector;
        return;
    }
    regs = context.vcpu.regs();
    cs = context.observers.observing() ? context.vcpu.sregs().cs.selector : 0;
}

void notify_observers(VcpuLoopContext &context, const kvm_regs &regs, uint16_t cs, uint64_t guest_ns,
                      uint64_t handling_ns)
{
    const kvm_run &run = *context.vcpu.run_page();
    vmm_exit_event event{};
    event.struct_size = sizeof event;
    event.vcpu = context.vcpu.index();
    event.reason = run.exit_reason;
    event.count = 1;
    event.cs_selector = cs;
    event.rip = regs.rip;
    event.guest_ns = guest_ns;
    event.handling_ns = handling_ns;
    event.reason_name = exit_reason_label(run.exit_reason);
    const DeviceInstance *owner = nullptr;
    if (run.exit_reason == KVM_EXIT_IO) {
        event.space = VMM_SPACE_PIO;
        event.address = run.io.port;
        event.size = run.io.size;
        event.count = run.io.count;
        event.is_write = run.io.direction == KVM_EXIT_IO_OUT;
        if (run.io.size <= 8 && run.io.data_offset + run.io.size <= context.vcpu.run_page_size())
            std::memcpy(&event.data, reinterpret_cast<const uint8_t *>(&run) + run.io.data_offset, run.io.size);
        owner = context.io.owner(Space::pio, run.io.port, run.io.size);
    } else if (run.exit_reason == KVM_EXIT_MMIO) {
        event.space = VMM_SPACE_MMIO;
        event.address = run.mmio.phys_addr;
        event.size = run.mmio.len;
        event.is_write = run.mmio.is_write;
        std::memcpy(&event.data, run.mmio.data, std::min<uint32_t>(run.mmio.len, 8));
        owner = context.io.owner(Space::mmio, run.mmio.phys_addr, run.mmio.len);
    }
    event.device = owner ? owner->name().c_str() : nullptr;
    for (DeviceInstance *observer : context.observers.observers)
        observer->observe_exit(event);
}

} // namespace

VcpuOutcome run_vcpu_loop(VcpuLoopContext context)
{
    VcpuOutcome outcome;
    outcome.index = context.vcpu.index();
    kvm_run &run = *context.vcpu.run_page();
    const bool observing = context.observers.observing();
    const bool need_registers = context.observers.need_registers();
    if (need_registers && context.sync_registers)
        run.kvm_valid_regs = KVM_SYNC_X86_REGS | (observing ? KVM_SYNC_X86_SREGS : 0);

    Clock::time_point entered{};
    bool flushed = false; // a debugger's stop: the pending exit was completed
    while (outcome.end == VcpuEnd::running) {
        if (context.control.stop_requested()) {
            outcome.end = VcpuEnd::stopped;
            break;
        }
        if (context.pause_point != nullptr && context.pause_point->pause_pending()) {
            context.pause_point->checkpoint(run);
            continue; // the VM may have been stopped meanwhile
        }
        if (context.sleep_point != nullptr && context.sleep_point->sleep_pending(context.vcpu.index())) {
            context.sleep_point->sleep(context.vcpu, run, context.pause_point, context.control);
            continue;
        }
        if (context.debug != nullptr) {
            // A debugger's stop: first one KVM_RUN with immediate_exit, which
            // completes the last exit's I/O (so RIP and the registers are
            // what the guest sees next) without running the guest; then park.
            if (!context.debug->stop_pending()) {
                flushed = false;
            } else if (flushed) {
                context.debug->park(context.vcpu, run);
                if (context.pause_point != nullptr)
                    context.pause_point->clear_kick(run); // kicks write it too, under its lock
                else
                    run.immediate_exit = 0;
                flushed = false;
                continue;
            } else {
                if (context.pause_point != nullptr)
                    context.pause_point->request_immediate_exit(run);
                else
                    run.immediate_exit = 1;
                flushed = true;
            }
        }
        if (observing)
            entered = Clock::now();
        const int error = context.vcpu.run();
        if (error == EINTR || error == EAGAIN) {
            // A kick, or an AP waiting for SIPI: look at the flags again.
            if (context.pause_point != nullptr)
                context.pause_point->clear_kick(run);
            continue;
        }
        if (error != 0) {
            outcome.end = VcpuEnd::fatal;
            outcome.detail = errno_message("KVM_RUN", error);
            break;
        }
        const Clock::time_point exited = observing ? Clock::now() : Clock::time_point{};
        ++outcome.exits;
        context.runtime.exits.fetch_add(1, std::memory_order_relaxed);
        ++outcome.exits_by_reason[std::min<std::size_t>(run.exit_reason, kExitReasonSlots - 1)];
        outcome.last_exit_reason = run.exit_reason;

        kvm_regs regs{};
        uint16_t cs = 0;
        if (need_registers) {
            exit_registers(context, regs, cs);
            if (context.observers.keep_vcpu_state)
                context.runtime.save(regs);
        }

        ExitState state{context, run, {}};
        const ExitHandler handler = run.exit_reason < kMaxReason ? kHandlers[run.exit_reason] : &handle_unknown;
        switch (handler(state)) {
        case Next::resume: break;
        case Next::halt: outcome.end = VcpuEnd::halted; break;
        case Next::fatal:
            outcome.end = VcpuEnd::fatal;
            outcome.detail = std::move(state.detail);
            if (state.trap.kind == UserTrap::Kind::exception) {
                outcome.user_exception = true;
                outcome.exception_vector = state.trap.vector;
                outcome.exception_error_code = state.trap.error_code;
                outcome.exception_rip = state.trap.rip;
                outcome.exception_cr2 = state.trap.cr2;
            }
            break;
        }
        if (context.debug != nullptr && context.debug->after_exit(context.vcpu, run) &&
            outcome.end != VcpuEnd::running)
            context.debug->park(context.vcpu, run); // `break exit hlt`: stop before this vCPU ends
        if (observing)
            notify_observers(context, regs, cs, nanoseconds(exited - entered), nanoseconds(Clock::now() - exited));
    }
    capture_state(context.vcpu, outcome);
    return outcome;
}

} // namespace vmm
