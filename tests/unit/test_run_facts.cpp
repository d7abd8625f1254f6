// The host facts the --report gives: which KVM module runs guests, and what
// that means for supervisor-mode code.
#include "core/run_facts.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

TEST_CASE("the host facts say whether supervisor-mode guest code runs natively, from the KVM module loaded", "[report]")
{
    const vmm::test::TempDir dir("host-facts");
    const std::string modules = dir.path.string();
    std::filesystem::create_directories(dir.path / "kvm");
    CHECK(vmm::host_facts(modules).kvm_module.empty());
    CHECK_FALSE(vmm::host_facts(modules).supervisor_native);
    std::filesystem::create_directories(dir.path / "kvm_intel");
    CHECK(vmm::host_facts(modules).kvm_module == "kvm_intel");
    CHECK(vmm::host_facts(modules).supervisor_native);
    // kvm_pvm: CPL 0 code goes through KVM's instruction emulator.
    std::filesystem::create_directories(dir.path / "kvm_pvm");
    const vmm::HostFacts facts = vmm::host_facts(modules);
    CHECK(facts.kvm_module == "kvm_pvm");
    CHECK_FALSE(facts.supervisor_native);
    CHECK_THAT(facts.why, Catch::Contains("emulator"));
    CHECK_THAT(facts.kernel, Catch::StartsWith("Linux "));
}
