#include "core/machine.hpp"

#include "core/cpu_setup.hpp"
#include "core/vcpu_group.hpp"
#include "kvm/cpuid.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <cstring>

namespace vmm {

Machine::Machine(MachinePlan &plan, PluginFinder &plugins) : plan_(plan), spec_(*plan.spec), plugins_(plugins), facts_(collect_machine_facts(plan))
{
    build_memory();
    create_vcpu_runtimes();
    create_devices();
    create_vm();
    create_platform();
    find_observers();
}

// Before any device: a device may start a thread in create() that asks the
// vCPU services about vCPUs, so what they read must not change under it.
void Machine::create_vcpu_runtimes()
{
    for (uint32_t i = 0; i < spec_.vcpus; ++i) {
        auto runtime = std::make_unique<VcpuRuntime>();
        runtime->index = i;
        runtimes_.push_back(std::move(runtime));
    }
    for (const PlannedDevice &planned : plan_.devices)
        observers_.keep_vcpu_state = observers_.keep_vcpu_state || planned.plugin->needs_vcpu_state();
}

Machine::~Machine()
{
    vcpus_.clear();
    if (devices_)
        devices_->destroy_all(); // the event loop first, then devices in reverse order
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
    devices_ = std::make_unique<DeviceManager>(plan_, *this, spec_.irqchip);
    io_ = std::make_unique<IoRouter>(*devices_, spec_.strict);
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
        if (i == 0 && plan_.acpi)
            create_sleep_control(vcpu->sregs()); // KVM's reset state, before setup_cpu changes it
        setup_cpu(*vcpu, spec_, plan_.boot, i);
        VcpuRuntime &runtime = *runtimes_[i];
        runtime.vcpu = vcpu.get(); // read only on the vCPU's own thread, which starts later
        runtime.save(vcpu->regs()); // the state before the first exit
        vcpus_.push_back(std::move(vcpu));
    }
    if (plan_.boot.mode == CpuMode::user64)
        user_mode_ = std::make_unique<UserModeTraps>(UserModeTraps{
            x86::user::Layout(plan_.boot.system_area.value_or(0), plan_.boot.mapped_gib, spec_.vcpus), *memory_});
    const int sync = kvm_->extension(KVM_CAP_SYNC_REGS);
    sync_registers_ = (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) == (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
}

void Machine::create_platform()
{
    if (spec_.irqchip) {
        if (spec_.pit)
            vm_->create_pit();
        vcpus_.front()->set_virtual_wire_lints();
    }
    std::function<void(uint32_t)> on_line_raised;
    if (sleep_)
        on_line_raised = [this](uint32_t gsi) {
            if (sleep_->suspended())
                wake(fmt::format("interrupt line {} rose", gsi));
        };
    devices_->start(*vm_, spec_.irqchip, std::move(on_line_raised)); // lines, the event loop, realize
}

void Machine::create_sleep_control(const kvm_sregs &boot_reset)
{
    // The FACS's firmware waking vector, read when the VM wakes: the guest
    // writes it just before it sleeps.
    const uint64_t vector_address = plan_.acpi->address(plan_.acpi->layout.facs) + 12;
    auto waking_vector = [this, vector_address]() -> uint32_t {
        uint32_t vector = 0;
        if (const uint8_t *p = memory_->host_pointer(vector_address, sizeof vector))
            std::memcpy(&vector, p, sizeof vector);
        return vector;
    };
    sleep_ = std::make_unique<SleepControl>(spec_.vcpus, std::move(waking_vector), boot_reset);
}

vmm_status Machine::request_suspend(const std::string &requester)
{
    if (!sleep_)
        return VMM_ERROR_UNSUPPORTED;
    if (sleep_->suspend())
        logging::core().info("device '{}' suspended the VM to RAM (S3): vCPUs stop until a wake event", requester);
    return VMM_OK;
}

bool Machine::wake(const std::string &why)
{
    if (!sleep_ || !sleep_->wake())
        return false;
    logging::core().info("waking the VM from S3: {}", why);
    return true;
}

void Machine::find_observers()
{
    observers_.observers = devices_->observers();
}

void Machine::request_stop(int32_t exit_status, const std::string &requester)
{
    control_.request_stop(StopCause::guest_request, exit_status,
                          fmt::format("device '{}' asked to stop with status {}", requester, exit_status));
}

void Machine::device_crashed(int32_t exit_status, const std::string &reason)
{
    control_.request_stop(StopCause::plugin_crashed, exit_status, reason);
}

RunResult Machine::run()
{
    RunResult result;
    {
        VcpuGroup group(vcpus_, runtimes_, *io_, control_, observers_, sync_registers_, user_mode_.get(),
                        sleep_.get(), debugger_ != nullptr ? &debugger_->hook() : nullptr);
        // Cleared on every way out, as group_ below: no suspend may kick a destroyed group.
        struct SleepKick {
            SleepControl *sleep;
            SleepKick(SleepControl *s, VcpuGroup &g) : sleep(s)
            {
                if (sleep)
                    sleep->set_kick([&g] { g.kick_all(); });
            }
            ~SleepKick()
            {
                if (sleep)
                    sleep->set_kick(nullptr);
            }
        } sleep_kick(sleep_.get(), group);
        // The debugger's kick goes before the group does, on every way out.
        struct Kick {
            Debugger *debugger;
            Kick(Debugger *d, VcpuGroup &g) : debugger(d)
            {
                if (debugger != nullptr)
                    debugger->set_kick([&g] { g.kick(); });
            }
            ~Kick()
            {
                if (debugger != nullptr)
                    debugger->set_kick(nullptr);
            }
        } kick(debugger_, group);
        // group_ is cleared on every way out of this scope, an exception
        // from run() included: a swap must never see a destroyed group.
        struct Published {
            Machine &machine;
            Published(Machine &m, VcpuGroup &g) : machine(m)
            {
                std::lock_guard lock(machine.group_mutex_);
                machine.group_ = &g;
            }
            ~Published()
            {
                std::lock_guard lock(machine.group_mutex_); // waits for a swap in progress
                machine.group_ = nullptr;
            }
        } published(*this, group);
        result.vcpus = group.run();
    }
    result.cause = control_.cause();
    result.exit_status = control_.exit_status();
    result.reason = control_.reason();
    return result;
}

} // namespace vmm
