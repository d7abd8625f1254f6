// The vCPU services the host offers plugins (ABI 1.2): which vCPU is
// calling, what each vCPU is doing, and their registers.
#include "core/machine.hpp"

#include "support/errors.hpp"
#include "support/logging.hpp"

namespace vmm {
namespace {

void to_abi(const kvm_regs &r, vmm_vcpu_registers &out)
{
    out.rax = r.rax, out.rbx = r.rbx, out.rcx = r.rcx, out.rdx = r.rdx;
    out.rsi = r.rsi, out.rdi = r.rdi, out.rsp = r.rsp, out.rbp = r.rbp;
    out.r8 = r.r8, out.r9 = r.r9, out.r10 = r.r10, out.r11 = r.r11;
    out.r12 = r.r12, out.r13 = r.r13, out.r14 = r.r14, out.r15 = r.r15;
    out.rip = r.rip, out.rflags = r.rflags;
}

void from_abi(const vmm_vcpu_registers &in, kvm_regs &r)
{
    r.rax = in.rax, r.rbx = in.rbx, r.rcx = in.rcx, r.rdx = in.rdx;
    r.rsi = in.rsi, r.rdi = in.rdi, r.rsp = in.rsp, r.rbp = in.rbp;
    r.r8 = in.r8, r.r9 = in.r9, r.r10 = in.r10, r.r11 = in.r11;
    r.r12 = in.r12, r.r13 = in.r13, r.r14 = in.r14, r.r15 = in.r15;
    r.rip = in.rip, r.rflags = in.rflags | 0x2;
}

} // namespace

VcpuRuntime *Machine::calling_vcpu()
{
    VcpuRuntime *runtime = current_vcpu_runtime();
    for (const auto &mine : runtimes_) {
        if (mine.get() == runtime)
            return runtime;
    }
    return nullptr;
}

int32_t Machine::current_vcpu()
{
    const VcpuRuntime *runtime = calling_vcpu();
    return runtime ? static_cast<int32_t>(runtime->index) : -1;
}

vmm_status Machine::vcpu_info(uint32_t vcpu, vmm_vcpu_info &info)
{
    if (vcpu >= spec_.vcpus)
        return VMM_ERROR_RANGE;
    info.index = vcpu;
    const VcpuRuntime &runtime = *runtimes_[vcpu];
    info.host_thread_id = runtime.thread_id.load();
    info.exits = runtime.exits.load(std::memory_order_relaxed);
    info.state = runtime.state.load();
    return VMM_OK;
}

vmm_status Machine::get_vcpu_registers(uint32_t vcpu, vmm_vcpu_registers &registers)
{
    if (vcpu >= runtimes_.size())
        return VMM_ERROR_RANGE;
    VcpuRuntime &runtime = *runtimes_[vcpu];
    if (&runtime == calling_vcpu()) {
        // Its own thread: the live registers, at the time of the call.
        try {
            to_abi(runtime.vcpu->regs(), registers);
        } catch (const SystemError &e) { // KVM_GET_REGS failed: nothing may cross the C ABI
            logging::core().error("vcpu {}: {}", vcpu, e.what());
            return VMM_ERROR;
        }
        return VMM_OK;
    }
    if (!observers_.keep_vcpu_state)
        return VMM_ERROR_UNSUPPORTED;
    std::lock_guard lock(runtime.saved_mutex);
    if (!runtime.saved_valid)
        return VMM_ERROR_UNSUPPORTED;
    to_abi(runtime.saved, registers);
    return VMM_OK;
}

vmm_status Machine::set_vcpu_registers(uint32_t vcpu, const vmm_vcpu_registers &registers)
{
    if (vcpu >= runtimes_.size())
        return VMM_ERROR_RANGE;
    VcpuRuntime &runtime = *runtimes_[vcpu];
    if (&runtime != calling_vcpu())
        return VMM_ERROR_INVALID; // another thread's vCPU may be inside KVM_RUN
    kvm_regs regs{};
    try {
        regs = runtime.vcpu->regs();
        from_abi(registers, regs);
        runtime.vcpu->set_regs(regs);
    } catch (const SystemError &e) { // KVM_GET/SET_REGS failed: nothing may cross the C ABI
        logging::core().error("vcpu {}: {}", vcpu, e.what());
        return VMM_ERROR;
    }
    if (sync_registers_) // keep kvm_run's copy in step with what KVM will run
        runtime.vcpu->run_page()->s.regs.regs = regs;
    return VMM_OK;
}

} // namespace vmm
