// hypercall: a port doorbell through which a guest calls into the VMM,
// with a call number in RAX, arguments in RBX, RCX, RSI, RDI, and the
// result returned in RAX.
//
// State: usable; one call (VCPU_INFO), tested with two vCPUs.
// Missing: more calls (memory or device introspection), a call that
//          returns data through guest memory, a VMCALL/VMMCALL path (KVM
//          handles those itself and does not exit to user space for them).
// Documentation: seed 002 (the "vcpu_info" hypercall homework, which added
//          KVM_HC_VCPU_INFO = 11 to KVM and logged with trace_printk the
//          vCPU's host PID, registers and exit count); Linux's
//          Documentation/virt/kvm/x86/hypercalls.rst for the convention
//          (number in RAX, result in RAX, -KVM_ENOSYS = -1000 there,
//          -ENOSYS = -38 here).
//
// Protocol: the guest loads RAX with a call number and RBX... with the
// arguments, then writes any value of 1 byte to the doorbell port (default
// 0x510; `outb %al, %dx` with DX = 0x510 — DX holds the port, so RDX is not
// an argument). The VMM handles the call before the guest runs again and
// leaves the result in RAX: an OUT never writes RAX, so the value the guest
// finds there after the OUT is the result. A wider write (possible when the
// machine file gives the device more than one port) is no call: ignored,
// logged the first time. Reads of the port return all ones.
//
// Calls:
//   1  VCPU_INFO(vcpu = RBX): logs, at info level,
//        vcpu_info(1): host tid 12345, 6 exits, halted, rax=0x... rbx=0x... rcx=0x... rdx=0x... rsi=0x...
//        rdi=0x... rsp=0x... rbp=0x... r8=0x... ... r15=0x... rip=0x... rflags=0x...
//      (one line): the Linux thread running that vCPU, its VM exits so far
//      (for the calling vCPU this one included), its state, and its
//      general-purpose registers - the caller's at the time of the call,
//      another vCPU's as saved at its last exit. Returns 0, or -1 (all ones)
//      for a vCPU that does not exist (also logged). The guest decides how
//      often it calls: the first 64 calls log at info level, later ones at
//      debug level, numbered, so that a guest cannot flood the log.
//   anything else: returns -38 (-ENOSYS); logged once per call number.
#include <vmm/sdk.hpp>

#include <atomic>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>

namespace {

constexpr uint64_t kCallVcpuInfo = 1;
constexpr uint64_t kResultOk = 0;
constexpr uint64_t kResultNoSuchVcpu = ~uint64_t{0};             // -1
constexpr uint64_t kResultNoSuchCall = static_cast<uint64_t>(-38); // -ENOSYS
constexpr std::size_t kLoggedUnknownCalls = 64;
constexpr uint64_t kCallsLoggedAtInfo = 64;

constexpr std::array kRegions = {vmm::sdk::pio_region(0x510, 1)};

const char *state_name(uint32_t state)
{
    switch (state) {
    case VMM_VCPU_CREATED: return "not started";
    case VMM_VCPU_RUNNING: return "running";
    case VMM_VCPU_HALTED: return "halted";
    case VMM_VCPU_STOPPED: return "stopped";
    case VMM_VCPU_FAILED: return "failed";
    }
    return "unknown state";
}

std::string format_registers(const vmm_vcpu_registers &r)
{
    char text[640];
    std::snprintf(text, sizeof text,
                  "rax=0x%" PRIx64 " rbx=0x%" PRIx64 " rcx=0x%" PRIx64 " rdx=0x%" PRIx64 " rsi=0x%" PRIx64
                  " rdi=0x%" PRIx64 " rsp=0x%" PRIx64 " rbp=0x%" PRIx64 " r8=0x%" PRIx64 " r9=0x%" PRIx64
                  " r10=0x%" PRIx64 " r11=0x%" PRIx64 " r12=0x%" PRIx64 " r13=0x%" PRIx64 " r14=0x%" PRIx64
                  " r15=0x%" PRIx64 " rip=0x%" PRIx64 " rflags=0x%" PRIx64,
                  r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13,
                  r.r14, r.r15, r.rip, r.rflags);
    return text;
}

class Hypercall final : public vmm::sdk::Device {
public:
    static vmm::sdk::PluginInfo plugin_info()
    {
        vmm::sdk::PluginInfo info{"hypercall", "1.0.0",
                                  "guest-to-VMM calls through a port doorbell: number in RAX, arguments in RBX, "
                                  "RCX, RSI, RDI, result in RAX; call 1 = vcpu_info",
                                  {}, kRegions};
        info.thread_safe = true;      // calls from several vCPUs at once: only `unknown_` is shared
        info.needs_vcpu_state = true; // vcpu_info(other) shows the other vCPU's last saved registers
        return info;
    }

    explicit Hypercall(const vmm::sdk::DeviceContext &context) : Device(context)
    {
        context.require_regions(vmm::sdk::Space::pio, 1, 1);
        if (!host().provides(&vmm_host_api::set_vcpu_registers))
            throw vmm::sdk::ConfigError("needs a host with the vCPU services of plugin ABI 1.2");
    }

    void write(uint32_t, uint64_t, std::span<const uint8_t> data) override
    {
        if (data.size() != 1) {
            if (!wide_write_logged_.exchange(true))
                host().warn("doorbell written with %zu bytes: ignored (a call is a 1-byte write); further such "
                            "writes are not logged",
                            data.size());
            return;
        }
        const std::optional<uint32_t> caller = host().current_vcpu();
        if (!caller) {
            host().error("doorbell written outside a vCPU's exit: ignored");
            return;
        }
        std::optional<vmm_vcpu_registers> regs = host().vcpu_registers(*caller);
        if (!regs) {
            host().error("vcpu %u: cannot read its registers; call ignored", *caller);
            return;
        }
        const uint64_t result = call(*caller, *regs);
        regs->rax = result;
        if (!host().set_vcpu_registers(*caller, *regs))
            host().error("vcpu %u: cannot set RAX to the result 0x%" PRIx64, *caller, result);
    }

private:
    uint64_t call(uint32_t caller, const vmm_vcpu_registers &regs)
    {
        switch (regs.rax) {
        case kCallVcpuInfo: return vcpu_info(caller, regs);
        default: break;
        }
        bool first = false;
        {
            std::lock_guard lock(mutex_);
            if (unknown_.size() < kLoggedUnknownCalls)
                first = unknown_.insert(regs.rax).second;
        }
        if (first)
            host().warn("vcpu %u: unknown call %" PRIu64 " (0x%" PRIx64 "): returns -38 (-ENOSYS); further calls "
                        "with this number are not logged",
                        caller, regs.rax, regs.rax);
        return kResultNoSuchCall;
    }

    uint64_t vcpu_info(uint32_t caller, const vmm_vcpu_registers &caller_regs)
    {
        const uint64_t target = caller_regs.rbx;
        const uint32_t count = host().vcpu_count();
        if (target >= count) {
            log_call("vcpu_info(%" PRIu64 "): no such vCPU (the machine has %u), called by vcpu %u; returns -1", target,
                     count, caller);
            return kResultNoSuchVcpu;
        }
        const auto vcpu = static_cast<uint32_t>(target);
        const std::optional<vmm_vcpu_info> info = host().vcpu_info(vcpu);
        // The caller's own registers are the ones it called with (already read).
        const std::optional<vmm_vcpu_registers> regs =
            vcpu == caller ? std::optional<vmm_vcpu_registers>(caller_regs) : host().vcpu_registers(vcpu);
        if (!info) {
            host().error("vcpu_info(%u): the host gave no information; returns -1", vcpu);
            return kResultNoSuchVcpu;
        }
        log_call("vcpu_info(%u): host tid %" PRId64 ", %" PRIu64 " exits, %s, %s%s", vcpu, info->host_thread_id,
                 info->exits, state_name(info->state), regs ? format_registers(*regs).c_str() : "registers unavailable",
                 vcpu == caller ? " (the caller, at the call)" : " (as of its last exit)");
        return kResultOk;
    }

    // A call's line: at info level for the first kCallsLoggedAtInfo calls,
    // then at debug level with the call's number.
    __attribute__((format(printf, 2, 3))) void log_call(const char *format, ...)
    {
        char text[1024];
        va_list args;
        va_start(args, format);
        std::vsnprintf(text, sizeof text, format, args);
        va_end(args);
        const uint64_t call = ++calls_;
        if (call < kCallsLoggedAtInfo)
            host().info("%s", text);
        else if (call == kCallsLoggedAtInfo)
            host().info("%s; later calls are logged at debug level only", text);
        else
            host().debug("call %" PRIu64 ": %s", call, text);
    }

    std::mutex mutex_;
    std::set<uint64_t> unknown_; // call numbers already logged
    std::atomic<uint64_t> calls_{0};
    std::atomic<bool> wide_write_logged_{false};
};

} // namespace

VMM_PLUGIN(Hypercall)
