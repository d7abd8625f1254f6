// Hot swap: a device moves to another plugin while the guest runs.
#include "core/machine.hpp"

#include "isolation/isolated_plugin.hpp"
#include "isolation/plugin_description.hpp"
#include "plugin/settings_check.hpp"
#include "support/errors.hpp"
#include "support/logging.hpp"

#include <fmt/format.h>

#include <chrono>

namespace vmm {

SwapResult Machine::swap_device(const std::string &device, const std::string &plugin_reference,
                                const std::optional<std::vector<Setting>> &settings, bool restart,
                                std::optional<bool> isolate)
{
    std::lock_guard lock(group_mutex_);
    // The control socket answers from before run() starts the vCPUs. Until
    // then group_ is null and run() waits on group_mutex_ to start them: no
    // vCPU can call a device, so the swap needs no pause. After run() the
    // VM has stopped (every way out of it requests a stop).
    if (group_ == nullptr && control_.stop_requested())
        throw SystemError("the VM is not running");
    const auto index = devices_->find(device);
    if (!index)
        throw InputError(fmt::format("no device named '{}'", device));
    DeviceInstance &old = devices_->at(*index);
    PlannedDevice &planned = plan_.devices[*index];

    // Everything that can fail without the guest noticing, before the pause.
    const bool isolated = isolate.value_or(devices_->at(*index).wiring().isolation != nullptr);
    // Isolated: described by its own process, never loaded into vmm's.
    auto plugin = plugins_.load(plugin_reference, spec_.file.parent_path(),
                                isolated ? PluginDescriber(describe_plugin_in_child) : PluginDescriber());
    const std::vector<Setting> &new_settings = settings ? *settings : planned.spec->settings;
    std::vector<InputError> problems = check_settings(device, planned.spec->where, new_settings, *plugin);
    if (!problems.empty())
        throw InputErrors(std::move(problems));
    DeviceWiring wiring = old.wiring();
    // Across the process boundary (docs/isolation.md): the state travels as
    // it does between two in-process plugins, through save and load.
    const IsolationOptions *was = wiring.isolation.get();
    const bool was_isolated = was != nullptr;
    const OnCrash on_crash = was_isolated ? was->on_crash : planned.spec->on_crash;
    wiring.isolation.reset(); // `was` dangles from here on
    std::shared_ptr<PluginLibrary> instance_plugin = plugin;
    if (isolated)
        instance_plugin = isolate_device(device, plugin, on_crash, wiring);
    if (!old.has_state() && !restart)
        throw InputError(fmt::format("device '{}' (plugin '{}') cannot save its state: swapping it would restart it "
                                     "from scratch (ask with \"restart\": true if that is what you want)",
                                     device, old.plugin().name()));
    if (old.has_state() && plugin->descriptor().load_state == nullptr)
        throw InputError(fmt::format("plugin '{}' cannot take device '{}''s state (it has no load_state)",
                                     plugin->name(), device));
    if (old.observes_exits() != plugin->observes_exits() ||
        old.needs_vcpu_state() != plugin->needs_vcpu_state())
        throw InputError(fmt::format("plugins '{}' and '{}' differ in observing exits or keeping vCPU state, which "
                                     "cannot change while the VM runs",
                                     old.plugin().name(), plugin->name()));
    // The device's lines were wired when the machine was built. A plugin
    // that uses fewer leaves the rest low; one that declares more gets the
    // extra lines unconnected (they reach nothing, as without an irqchip):
    // lines are checked against the whole machine only when it is built.
    const std::size_t wired = wiring.lines.size();
    if (plugin->default_irqs().size() > wired)
        logging::core().warn("device '{}': plugin '{}' declares {} interrupt line(s), the machine wired {} for this "
                             "device: the others stay unconnected",
                             device, plugin->name(), plugin->default_irqs().size(), wired);
    wiring.lines.resize(plugin->default_irqs().size());
    auto replacement =
        std::make_unique<DeviceInstance>(instance_plugin, device, old.regions(), new_settings, *this, std::move(wiring));

    SwapResult result;
    result.device = device;
    result.old_plugin = old.plugin().name();
    result.new_plugin = plugin->name();
    result.isolated = isolated;
    const auto paused_at = std::chrono::steady_clock::now();
    if (group_ != nullptr && !group_->pause(std::chrono::seconds(5)))
        throw SystemError("the vCPUs did not pause (the VM is stopping, or a vCPU is stuck in a device)");
    std::unique_ptr<DeviceInstance> retired;
    try {
        DeviceInstance *observer = replacement.get();
        DeviceManager::HandOver handed = devices_->hand_over(*index, std::move(replacement));
        result.state_bytes = handed.state_bytes;
        retired = std::move(handed.retired);
        for (DeviceInstance *&o : observers_.observers) {
            if (o == retired.get())
                o = observer;
        }
        // A device restarted from scratch never came to rest (that is what
        // save_state does): its own threads would go on serving the guest
        // next to its replacement. Destroy it while the vCPUs are paused.
        if (!retired->has_state())
            retired.reset();
    } catch (...) {
        if (group_ != nullptr)
            group_->resume();
        throw;
    }
    if (group_ != nullptr)
        group_->resume();
    result.pause_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - paused_at).count();
    retired.reset(); // a device at rest is destroyed once the guest runs again
    planned.plugin = std::move(plugin); // the old library unloads if no device uses it
    logging::core().info("device '{}': swapped plugin '{}' for '{}'{} ({} bytes of state); {}", device,
                         result.old_plugin, result.new_plugin,
                         isolated == was_isolated ? std::string()
                                                  : isolated ? std::string(", in-process -> isolated")
                                                             : std::string(", isolated -> in-process"),
                         result.state_bytes,
                         group_ != nullptr ? fmt::format("vCPUs paused for {:.0f} us", result.pause_us)
                                           : std::string("before the vCPUs started"));
    return result;
}

} // namespace vmm
