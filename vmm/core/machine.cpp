#include "core/machine.hpp"

#include "core/cpu_setup.hpp"
#include "plugin/settings_check.hpp"
#include "core/vcpu_group.hpp"
#include "kvm/cpuid.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

namespace vmm {

Machine::Machine(MachinePlan &plan, PluginFinder &plugins) : plan_(plan), spec_(*plan.spec), plugins_(plugins)
{
    build_memory();
    create_devices();
    create_vm();
    find_observers();
}

Machine::~Machine()
{
    vcpus_.clear();
    if (io_)
        io_->destroy_devices(); // reverse order of creation
}

void Machine::build_memory()
{
    memory_ = std::make_unique<GuestMemory>();
    memory_->add_ram("ram", 0, spec_.memory_size);
    for (const LoadedImage &image : plan_.images) {
        if (image.type == ImageType::rom)
            memory_->add_rom(image.spec->file_as_written, image.rom_address, image.rom_size, image.rom_contents.bytes);
    }
    // The plan checked that every chunk fits and none overlaps another.
    for (const ImageChunk &chunk : plan_.boot.ram_chunks) {
        uint8_t *target = memory_->host_pointer(chunk.address, chunk.size());
        if (target == nullptr)
            throw SystemError(fmt::format("{} does not fit at {:#x}", chunk.what, chunk.address));
        if (!chunk.bytes.empty())
            std::memcpy(target, chunk.bytes.data(), chunk.bytes.size());
        std::memset(target + chunk.bytes.size(), 0, chunk.zero_fill);
    }
}

void Machine::create_devices()
{
    std::vector<std::unique_ptr<DeviceInstance>> devices;
    for (const PlannedDevice &planned : plan_.devices) {
        try {
            devices.push_back(std::make_unique<DeviceInstance>(planned.plugin, planned.spec->name, planned.regions,
                                                               planned.spec->settings, *this));
        } catch (const InputError &e) {
            // Devices made so far are destroyed in reverse order on the way out.
            while (!devices.empty())
                devices.pop_back();
            throw InputError(planned.spec->where, e.what());
        }
    }
    io_ = std::make_unique<IoRouter>(std::move(plan_.pio), std::move(plan_.mmio), std::move(devices), spec_.strict);
}

void Machine::create_vm()
{
    kvm_ = std::make_unique<KvmSystem>();
    vm_ = std::make_unique<Vm>(*kvm_);
    memory_->register_with(*vm_);
    if (spec_.irqchip)
        vm_->create_irqchip(); // before any vCPU: each then gets a local APIC
    const std::vector<kvm_cpuid_entry2> supported = kvm_->supported_cpuid();
    for (uint32_t i = 0; i < spec_.vcpus; ++i) {
        auto vcpu = std::make_unique<Vcpu>(*vm_, i);
        vcpu->set_cpuid(cpuid_for_vcpu(supported, spec_.cpu.cpuid, i));
        setup_cpu(*vcpu, spec_, plan_.boot, i);
        auto runtime = std::make_unique<VcpuRuntime>();
        runtime->index = i;
        runtime->vcpu = vcpu.get();
        runtime->save(vcpu->regs()); // the state before the first exit
        runtimes_.push_back(std::move(runtime));
        vcpus_.push_back(std::move(vcpu));
    }
    const int sync = kvm_->extension(KVM_CAP_SYNC_REGS);
    sync_registers_ = (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) == (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
}

void Machine::find_observers()
{
    for (const auto &device : io_->devices()) {
        if (device->observes_exits())
            observers_.observers.push_back(device.get());
        observers_.keep_vcpu_state = observers_.keep_vcpu_state || device->needs_vcpu_state();
    }
}

void Machine::request_stop(int32_t exit_status, const std::string &requester)
{
    control_.request_stop(StopCause::guest_request, exit_status,
                          fmt::format("device '{}' asked to stop with status {}", requester, exit_status));
}

RunResult Machine::run()
{
    RunResult result;
    {
        VcpuGroup group(vcpus_, runtimes_, *io_, control_, observers_, sync_registers_);
        {
            std::lock_guard lock(group_mutex_);
            group_ = &group;
        }
        result.vcpus = group.run();
        std::lock_guard lock(group_mutex_); // waits for a swap in progress
        group_ = nullptr;
    }
    result.cause = control_.cause();
    result.exit_status = control_.exit_status();
    result.reason = control_.reason();
    return result;
}

} // namespace vmm

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
    if (vcpu >= runtimes_.size()) { // asked from a device's create: not made yet
        info.host_thread_id = 0;
        info.exits = 0;
        info.state = VMM_VCPU_CREATED;
        return VMM_OK;
    }
    const VcpuRuntime &runtime = *runtimes_[vcpu];
    info.index = vcpu;
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
        to_abi(runtime.vcpu->regs(), registers);
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
    kvm_regs regs = runtime.vcpu->regs();
    from_abi(registers, regs);
    runtime.vcpu->set_regs(regs);
    if (sync_registers_) // keep kvm_run's copy in step with what KVM will run
        runtime.vcpu->run_page()->s.regs.regs = regs;
    return VMM_OK;
}

} // namespace vmm

namespace vmm {

SwapResult Machine::swap_device(const std::string &device, const std::string &plugin_reference,
                                const std::optional<std::vector<Setting>> &settings, bool restart)
{
    std::lock_guard lock(group_mutex_);
    if (group_ == nullptr)
        throw SystemError("the VM is not running");
    const auto index = io_->find_device(device);
    if (!index)
        throw InputError(fmt::format("no device named '{}'", device));
    DeviceInstance &old = *io_->devices()[*index];
    PlannedDevice &planned = plan_.devices[*index];

    // Everything that can fail without the guest noticing, before the pause.
    auto plugin = plugins_.load(plugin_reference, spec_.file.parent_path());
    const std::vector<Setting> &new_settings = settings ? *settings : planned.spec->settings;
    std::vector<InputError> problems = check_settings(device, planned.spec->where, new_settings, *plugin);
    if (!problems.empty())
        throw InputErrors(std::move(problems));
    if (!old.has_state() && !restart)
        throw InputError(fmt::format("device '{}' (plugin '{}') cannot save its state: swapping it would restart it "
                                     "from scratch (ask with \"restart\": true if that is what you want)",
                                     device, old.plugin().name()));
    if (old.has_state() && plugin->descriptor().load_state == nullptr)
        throw InputError(fmt::format("plugin '{}' cannot take device '{}''s state (it has no load_state)",
                                     plugin->name(), device));
    if (old.observes_exits() != plugin->observes_exits() ||
        old.needs_vcpu_state() != ((plugin->descriptor().flags & VMM_PLUGIN_NEEDS_VCPU_STATE) != 0))
        throw InputError(fmt::format("plugins '{}' and '{}' differ in observing exits or keeping vCPU state, which "
                                     "cannot change while the VM runs",
                                     old.plugin().name(), plugin->name()));
    auto replacement = std::make_unique<DeviceInstance>(plugin, device, old.regions(), new_settings, *this);

    SwapResult result;
    result.device = device;
    result.old_plugin = old.plugin().name();
    result.new_plugin = plugin->name();
    const auto paused_at = std::chrono::steady_clock::now();
    if (!group_->pause(std::chrono::seconds(5)))
        throw SystemError("the vCPUs did not pause (the VM is stopping, or a vCPU is stuck in a device)");
    std::unique_ptr<DeviceInstance> retired;
    try {
        if (old.has_state()) {
            const std::vector<uint8_t> state = old.save_state();
            result.state_bytes = state.size();
            try {
                replacement->load_state(state);
            } catch (...) {
                old.load_state(state); // the old device goes on where it was
                throw;
            }
        }
        DeviceInstance *observer = replacement.get();
        retired = io_->replace_device(*index, std::move(replacement));
        for (DeviceInstance *&o : observers_.observers) {
            if (o == retired.get())
                o = observer;
        }
    } catch (...) {
        group_->resume();
        throw;
    }
    group_->resume();
    result.pause_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - paused_at).count();
    retired.reset();                  // destroyed once the guest runs again
    planned.plugin = std::move(plugin); // the old library unloads if no device uses it
    logging::core().info("device '{}': swapped plugin '{}' for '{}' ({} bytes of state); vCPUs paused for {:.0f} us",
                         device, result.old_plugin, result.new_plugin, result.state_bytes, result.pause_us);
    return result;
}

} // namespace vmm
