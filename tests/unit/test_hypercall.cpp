// The hypercall plugin through the real ABI, without KVM: a fake vCPU whose
// registers hold a call. Its log lines are read back from stderr.
#include "capture.hpp"
#include "kvm/guest_memory.hpp"
#include "plugin/device_instance.hpp"
#include "plugin/plugin_library.hpp"
#include "support/logging.hpp"

#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

using namespace vmm;
using vmm::test::Capture;
using vmm::test::count_of;

namespace {

// vCPU 0 is always the caller, with RAX = 1 (VCPU_INFO) and RBX = 0.
struct OneVcpuHost final : HostServices {
    GuestMemory ram;
    int registers_set = 0;
    uint64_t last_rax = 0;
    OneVcpuHost() { ram.add_ram("ram", 0, 0x1000); }
    GuestMemory &memory() override { return ram; }
    void request_stop(int32_t, const std::string &) override {}
    uint32_t vcpu_count() override { return 1; }
    int32_t current_vcpu() override { return 0; }
    vmm_status vcpu_info(uint32_t vcpu, vmm_vcpu_info &info) override
    {
        info.index = vcpu;
        info.state = VMM_VCPU_RUNNING;
        return VMM_OK;
    }
    vmm_status get_vcpu_registers(uint32_t, vmm_vcpu_registers &registers) override
    {
        registers.rax = 1;
        registers.rbx = 0;
        return VMM_OK;
    }
    vmm_status set_vcpu_registers(uint32_t, const vmm_vcpu_registers &registers) override
    {
        ++registers_set;
        last_rax = registers.rax;
        return VMM_OK;
    }
};

std::shared_ptr<PluginLibrary> hypercall_plugin()
{
    return PluginLibrary::load(std::filesystem::path(vmm::test::paths::plugin_dir()) / "vmm-hypercall.so");
}

// Restores the log level a test changed.
struct LogLevelScope {
    spdlog::level::level_enum saved = logging::level();
    explicit LogLevelScope(spdlog::level::level_enum level) { logging::set_level(level); }
    ~LogLevelScope() { logging::set_level(saved); }
};

} // namespace

TEST_CASE("hypercall: only a 1-byte write to the doorbell is a call, wider ones are ignored and logged once",
          "[plugin][hypercall]")
{
    OneVcpuHost host;
    DeviceInstance device(hypercall_plugin(), "h", {{Space::pio, 4}}, {}, host);
    Capture capture(STDERR_FILENO); // every logger writes to stderr
    const uint8_t bytes[4] = {};
    device.write(0, 0, bytes, 2);
    device.write(0, 0, bytes, 4);
    CHECK(host.registers_set == 0); // no call: RAX untouched
    device.write(0, 0, bytes, 1);
    CHECK(host.registers_set == 1);
    CHECK(host.last_rax == 0); // VCPU_INFO(0) succeeded
    const std::string log = capture.finish();
    CHECK(count_of(log, "[h] warning: doorbell written with 2 bytes: ignored (a call is a 1-byte write); further such "
                     "writes are not logged\n") == 1);
    CHECK(count_of(log, "doorbell written") == 1);
    CHECK(device.failed_calls() == 0);
}

TEST_CASE("hypercall: the first 64 calls log at info level, later ones at debug level, numbered",
          "[plugin][hypercall]")
{
    const LogLevelScope debug(spdlog::level::debug);
    OneVcpuHost host;
    DeviceInstance device(hypercall_plugin(), "h", {{Space::pio, 1}}, {}, host);
    Capture capture(STDERR_FILENO); // every logger writes to stderr
    const uint8_t doorbell = 0;
    for (int i = 0; i < 100; ++i)
        device.write(0, 0, &doorbell, 1);
    const std::string log = capture.finish();
    CHECK(host.registers_set == 100);
    CHECK(count_of(log, "[h] info: vcpu_info(0): ") == 64);
    CHECK(count_of(log, "; later calls are logged at debug level only\n") == 1);
    CHECK(count_of(log, "[h] debug: call ") == 36);
    CHECK(count_of(log, "[h] debug: call 65: vcpu_info(0): ") == 1);
    CHECK(count_of(log, "[h] debug: call 100: vcpu_info(0): ") == 1);
}
