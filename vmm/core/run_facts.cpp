#include "core/run_facts.hpp"

#include "core/machine.hpp"
#include "isolation/observer_drops.hpp"
#include "vmm_version.hpp"

#include <sys/utsname.h>

#include <filesystem>

namespace vmm {

using json = nlohmann::ordered_json;

HostFacts host_facts(const std::string &sys_module_dir)
{
    HostFacts facts;
    utsname names{};
    if (::uname(&names) == 0)
        facts.kernel = std::string(names.sysname) + " " + names.release + " " + names.machine;
    std::error_code ec;
    const auto loaded = [&](const char *module) { return std::filesystem::exists(sys_module_dir + "/" + module, ec); };
    for (const char *module : {"kvm_pvm", "kvm_intel", "kvm_amd"}) {
        if (loaded(module)) {
            facts.kvm_module = module;
            break;
        }
    }
    if (facts.kvm_module == "kvm_pvm") {
        facts.supervisor_native = false;
        facts.why = "KVM runs on kvm_pvm (no hardware virtualization here): CPL 0 guest code runs in KVM's "
                    "instruction emulator, CPL 3 code natively";
    } else if (!facts.kvm_module.empty()) {
        facts.supervisor_native = true;
        facts.why = "KVM uses " + facts.kvm_module + " (hardware virtualization): guest code runs natively at "
                    "every privilege level";
    } else {
        facts.why = "no kvm_intel, kvm_amd or kvm_pvm module is loaded";
    }
    return facts;
}

void RunFacts::note_plugins(const Machine &machine)
{
    const std::lock_guard lock(mutex_);
    for (const auto &device : machine.devices().devices()) {
        const PluginLibrary &plugin = device->plugin();
        bool known = false;
        for (const json &p : plugins_)
            known = known || p["file"] == plugin.file().string();
        if (!known)
            plugins_.push_back(
                {{"name", plugin.name()}, {"version", plugin.version()}, {"file", plugin.file().string()}});
    }
}

void RunFacts::note_control_reply(std::string_view request, std::string_view reply)
{
    try {
        const json asked = json::parse(request);
        const json answer = json::parse(reply);
        if (!asked.is_object() || asked.value("command", "") != "swap" || !answer.is_object() ||
            !answer.value("ok", false))
            return;
        const double at = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        const std::lock_guard lock(mutex_);
        swaps_.push_back({{"device", answer.value("device", "")},
                          {"old_plugin", answer.value("old_plugin", "")},
                          {"new_plugin", answer.value("new_plugin", "")},
                          {"at_seconds", at},
                          {"pause_us", answer.value("pause_us", 0.0)}});
    } catch (const json::exception &) {
        // Not a request we can read: the server answered it with an error.
    }
}

json RunFacts::to_json() const
{
    const HostFacts host = host_facts();
    const std::lock_guard lock(mutex_);
    json facts = {{"vmm", {{"version", kVmmVersion}, {"plugin_abi", kVmmAbiVersion}}},
                  {"plugins", plugins_},
                  {"swaps", swaps_},
                  {"wall_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
                  {"host",
                   {{"kernel", host.kernel},
                    {"kvm_module", host.kvm_module},
                    {"supervisor_code_native", host.supervisor_native},
                    {"why", host.why}}}};
    // Isolated observers only (docs/isolation.md): events their full ring dropped.
    if (const auto drops = observer_drops(); !drops.empty())
        facts["observer_events_dropped"] = drops;
    return facts;
}

} // namespace vmm
