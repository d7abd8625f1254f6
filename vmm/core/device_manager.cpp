#include "core/device_manager.hpp"

#include "isolation/isolated_plugin.hpp"
#include "kvm/vm.hpp"
#include "support/errors.hpp"

#include <fmt/format.h>

namespace vmm {
namespace {

DeviceWiring wiring_of(const PlannedDevice &planned, bool irqchip)
{
    DeviceWiring wiring;
    wiring.irqchip = irqchip;
    for (const PlannedIrq &irq : planned.irqs) {
        if (irqchip && irq.line != VMM_IRQ_NO_DEFAULT)
            wiring.lines.emplace_back(irq.line);
        else
            wiring.lines.emplace_back(std::nullopt);
    }
    return wiring;
}

// `isolate = true` (or [machine] isolate): the proxy plugin and how its
// process runs; refused, at the key, for a plugin that cannot run there.
std::shared_ptr<PluginLibrary> plugin_for(const PlannedDevice &planned, bool machine_isolate, DeviceWiring &wiring)
{
    const DeviceSpec &spec = *planned.spec;
    if (!spec.isolate.value_or(machine_isolate))
        return planned.plugin;
    const SourceLocation &where = spec.isolate ? spec.isolate_where : spec.where;
    try {
        return isolate_device(spec.name, planned.plugin, spec.on_crash, wiring);
    } catch (const InputError &e) {
        throw InputError(where, e.what());
    }
}

} // namespace

DeviceManager::DeviceManager(MachinePlan &plan, HostServices &services, bool irqchip)
    : plan_(plan), pio_(std::move(plan.pio)), mmio_(std::move(plan.mmio))
{
    pio_.freeze();
    mmio_.freeze();
    for (const PlannedDevice &planned : plan_.devices) {
        DeviceWiring wiring = wiring_of(planned, irqchip);
        std::shared_ptr<PluginLibrary> plugin;
        try {
            plugin = plugin_for(planned, plan_.spec->isolate, wiring); // InputError at the isolate key
        } catch (...) {
            destroy_all();
            throw;
        }
        try {
            devices_.push_back(std::make_unique<DeviceInstance>(std::move(plugin), planned.spec->name,
                                                                planned.regions, planned.spec->settings, services,
                                                                std::move(wiring)));
        } catch (const InputError &e) {
            destroy_all();
            throw InputError(planned.spec->where, e.what());
        } catch (...) {
            destroy_all();
            throw;
        }
    }
}

DeviceManager::~DeviceManager() { destroy_all(); }

void DeviceManager::start(Vm &vm, bool irqchip, std::function<void(uint32_t)> on_line_raised)
{
    if (irqchip) {
        lines_ = std::make_unique<InterruptLines>(vm);
        lines_->set_raise_observer(std::move(on_line_raised));
        for (const auto &device : devices_) {
            for (const auto &line : device->wiring().lines) {
                if (line)
                    lines_->connect(*line);
            }
        }
    }
    loop_ = std::make_unique<EventLoop>();
    runtime_ = RuntimeServices{loop_.get(), lines_.get(), vm.fd()};
    loop_->start_on_first_use(); // most machines register nothing: no thread
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        try {
            devices_[i]->realize(runtime_);
        } catch (const InputError &e) {
            throw InputError(plan_.devices[i].spec->where, e.what());
        }
    }
}

std::optional<std::size_t> DeviceManager::find(const std::string &name) const
{
    for (std::size_t i = 0; i < devices_.size(); ++i) {
        if (devices_[i]->name() == name)
            return i;
    }
    return std::nullopt;
}

std::vector<DeviceInstance *> DeviceManager::observers() const
{
    std::vector<DeviceInstance *> found;
    for (const auto &device : devices_) {
        if (device->observes_exits())
            found.push_back(device.get());
    }
    return found;
}

DeviceManager::HandOver DeviceManager::hand_over(std::size_t index, std::unique_ptr<DeviceInstance> replacement)
{
    DeviceInstance &old = at(index);
    HandOver result;
    old.quiesce(); // no runtime callback from here on
    try {
        std::vector<uint8_t> state;
        if (old.has_state()) {
            state = old.save_state();
            result.state_bytes = state.size();
        }
        old.detach_doorbells(); // the new instance registers the same ones
        try {
            replacement->realize(runtime_);
            if (old.has_state())
                replacement->load_state(state);
        } catch (...) {
            replacement.reset(); // releases its doorbells first
            old.attach_doorbells();
            if (old.has_state())
                old.load_state(state); // the old device goes on where it was
            throw;
        }
    } catch (...) {
        old.resume();
        throw;
    }
    std::swap(devices_[index], replacement);
    result.retired = std::move(replacement);
    return result;
}

void DeviceManager::destroy_all()
{
    if (loop_)
        loop_->stop();
    while (!devices_.empty())
        devices_.pop_back();
}

} // namespace vmm
