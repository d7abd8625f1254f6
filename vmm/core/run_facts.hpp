// What the report says about the run besides the guest (`--report`): the
// VMM's version, each plugin that ran (name, version, file), the hot swaps
// performed, the wall time, and the host: its kernel and whether KVM here
// runs supervisor-mode (CPL 0) guest code natively.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vmm {

class Machine;

// How supervisor-mode guest code runs on this host. Decided from what the
// kernel says, not measured: under the kvm_pvm module (KVM as a guest of
// another hypervisor, with no hardware virtualization of its own) KVM runs
// CPL 0 guest code in its instruction emulator, about a microsecond an
// instruction, while CPL 3 code runs natively; with kvm_intel or kvm_amd
// (VMX or SVM, also nested) it runs natively.
struct HostFacts {
    std::string kernel;         // uname: "Linux 6.1.0-18-amd64 x86_64"
    std::string kvm_module;     // "kvm_intel", "kvm_amd", "kvm_pvm" or "" when none is loaded
    bool supervisor_native = false;
    std::string why;            // one sentence
};
HostFacts host_facts(const std::string &sys_module_dir = "/sys/module");

class RunFacts {
public:
    RunFacts() : started_(std::chrono::steady_clock::now()) {}

    // The plugins the machine's devices use now (call at start and end:
    // swapped-in plugins are added, each file once).
    void note_plugins(const Machine &machine);
    // A control request and its reply: a successful swap is recorded.
    // Any thread.
    void note_control_reply(std::string_view request, std::string_view reply);

    // {"vmm": {...}, "plugins": [...], "swaps": [...], "wall_seconds": x, "host": {...}}
    nlohmann::ordered_json to_json() const;

private:
    std::chrono::steady_clock::time_point started_;
    mutable std::mutex mutex_;
    nlohmann::ordered_json plugins_ = nlohmann::ordered_json::array();
    nlohmann::ordered_json swaps_ = nlohmann::ordered_json::array();
};

} // namespace vmm
