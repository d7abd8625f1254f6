// A running machine: guest memory, devices, the KVM VM and its vCPUs,
// assembled from a checked plan, in an order that makes every input error
// appear before a VM is created.
#pragma once

#include "config/machine_spec.hpp"
#include "core/device_manager.hpp"
#include "core/io_router.hpp"
#include "core/machine_plan.hpp"
#include "core/machine_facts_builder.hpp"
#include "core/exit_observers.hpp"
#include "core/run_control.hpp"
#include "core/sleep_control.hpp"
#include "core/vcpu_group.hpp"
#include "core/vcpu_loop.hpp"
#include "core/vcpu_runtime.hpp"
#include "kvm/guest_memory.hpp"
#include "kvm/kvm_system.hpp"
#include "kvm/vcpu.hpp"
#include "kvm/vm.hpp"
#include "plugin/host_services.hpp"
#include "plugin/plugin_finder.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace vmm {

// What the machine needs of a debugger: the loop's hook, and a way to kick
// the vCPUs out of KVM_RUN while they run.
class Debugger {
public:
    virtual ~Debugger() = default;
    virtual DebugHook &hook() = 0;
    virtual void set_kick(std::function<void()> kick) = 0;
};

struct SwapResult {
    std::string device;
    std::string old_plugin;
    std::string new_plugin;
    uint64_t state_bytes = 0;
    double pause_us = 0; // vCPUs stopped, from the pause request to the resume
    bool isolated = false; // the new instance runs in a process of its own
};

struct RunResult {
    int exit_status = 0;
    StopCause cause = StopCause::none;
    std::string reason;
    std::vector<VcpuOutcome> vcpus;
};

class Machine final : public HostServices {
public:
    // Creates devices (input errors: InputError), then KVM objects
    // (SystemError). `plan` and `plugins` must outlive the machine.
    Machine(MachinePlan &plan, PluginFinder &plugins);
    ~Machine() override;

    RunResult run();

    GuestMemory &memory() override { return *memory_; }
    void request_stop(int32_t exit_status, const std::string &requester) override;
    void device_crashed(int32_t exit_status, const std::string &reason) override;
    // The machine's vCPUs, also while devices are created (before them).
    uint32_t vcpu_count() override { return spec_.vcpus; }
    int32_t current_vcpu() override;
    vmm_status vcpu_info(uint32_t vcpu, vmm_vcpu_info &info) override;
    vmm_status get_vcpu_registers(uint32_t vcpu, vmm_vcpu_registers &registers) override;
    vmm_status set_vcpu_registers(uint32_t vcpu, const vmm_vcpu_registers &registers) override;
    const MachineFacts &machine_facts() override { return facts_; }
    // ACPI S3 (core/sleep_control.hpp): only a machine with ACPI tables sleeps.
    vmm_status request_suspend(const std::string &requester) override;
    // A wake event; `why` goes to the log. False when the VM was not suspended
    // (or cannot sleep at all).
    bool wake(const std::string &why);
    bool suspended() const { return sleep_ && sleep_->suspended(); }
    RunControl &control() { return control_; }
    IoRouter &io() { return *io_; }
    const DeviceManager &devices() const { return *devices_; }
    const MachineSpec &spec() const { return spec_; }
    const std::vector<std::unique_ptr<VcpuRuntime>> &vcpu_runtimes() const { return runtimes_; }
    // A debugger (--gdb): set before run(); it gets a kick while the vCPUs run.
    void set_debugger(Debugger *debugger) { debugger_ = debugger; }
    Vcpu &vcpu(uint32_t index) { return *vcpus_.at(index); }

    // Hot swap: device `device` moves to plugin `plugin` (a name or a path)
    // while the guest runs: the new instance is made (with `settings`, or
    // the machine file's), the vCPUs are paused at an exit boundary, the old
    // device's state moves into the new one, and they resume. Throws
    // InputError for a bad request, SystemError when the swap failed (the
    // old device then still runs). A device whose plugin cannot save its
    // state is swapped only when `restart` allows the new one to start
    // afresh. `isolate`: run the new instance in a process of its own (true)
    // or in vmm's (false); nothing: as the old one ran.
    SwapResult swap_device(const std::string &device, const std::string &plugin,
                           const std::optional<std::vector<Setting>> &settings, bool restart = false,
                           std::optional<bool> isolate = std::nullopt);

private:
    void build_memory();
    void create_vcpu_runtimes();
    void create_devices();
    void create_vm();
    void create_platform(); // the PIT, the boot vCPU's LINTs, the device runtime
    void find_observers();
    void create_sleep_control(const kvm_sregs &boot_reset);
    // The runtime of the calling thread's vCPU, if it is one of ours.
    VcpuRuntime *calling_vcpu();

    MachinePlan &plan_;
    const MachineSpec &spec_;
    PluginFinder &plugins_;
    const MachineFacts facts_; // before any device: they read it from create on
    RunControl control_;
    // The running vCPU group, for pausing; swaps are one at a time.
    std::mutex group_mutex_;
    VcpuGroup *group_ = nullptr;
    // Destroyed bottom-up: vCPUs, devices, the VM, KVM, then memory last, so
    // nothing ever points into unmapped guest memory.
    std::unique_ptr<GuestMemory> memory_;
    std::unique_ptr<UserModeTraps> user_mode_; // mode = "user" only
    std::unique_ptr<KvmSystem> kvm_;
    std::unique_ptr<Vm> vm_;
    std::unique_ptr<DeviceManager> devices_;
    std::unique_ptr<IoRouter> io_;
    std::vector<std::unique_ptr<Vcpu>> vcpus_;
    std::vector<std::unique_ptr<VcpuRuntime>> runtimes_;
    ExitObservers observers_;
    bool sync_registers_ = false;
    std::unique_ptr<SleepControl> sleep_; // [machine] acpi = true
    Debugger *debugger_ = nullptr;
};

} // namespace vmm
